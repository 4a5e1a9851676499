package dev.robusto.deployment;

import dev.robusto.deployment.AutomationDeploymentStatus.AnalysisRun;
import dev.robusto.deployment.AutomationDeploymentStatus.Outcome;
import dev.robusto.deployment.AutomationDeploymentStatus.Rollback;
import dev.robusto.deployment.AutomationDeploymentStatus.StableCheck;
import dev.robusto.operator.Durations;
import dev.robusto.operator.KubeEvents;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a fleet's rollout goes next, decided from its spec, its status and the facts a reconcile
 * gathered ({@link FleetFacts}), without touching anything: a person's action ({@link
 * FleetActions}), the canary's steps, the measurement's verdict (a breach rolls back at once:
 * canary to zero, stable to full), the replicas of each revision, and the check of the stable
 * revision after a rollback. The result is a {@link FleetPlan}.
 */
final class FleetDecision {

  static final Duration RECHECK = Duration.ofSeconds(15);

  private final RolloutDraft draft;
  private final AutomationDeploymentStatus status;
  private final AutomationDeploymentSpec spec;
  private final FleetFacts facts;
  private final Instant now;
  private final Duration interval;

  private FleetDecision(RolloutDraft draft) {
    this.draft = draft;
    this.status = draft.status;
    this.spec = draft.spec;
    this.facts = draft.facts;
    this.now = draft.now;
    this.interval = Durations.parse(spec.analysis.interval);
  }

  /** The plan for {@code fleet}, whose status is {@code previous} (null: none yet). */
  static FleetPlan decide(
      AutomationDeployment fleet, AutomationDeploymentStatus previous, FleetFacts facts) {
    var draft = new RolloutDraft(fleet, previous, facts);
    var decision = new FleetDecision(draft);
    decision.adoptSpecRevision();
    FleetActions.obey(draft);
    decision.rollOut();
    var replicas = decision.sizeRevisions();
    decision.followRollback();
    decision.finishStatus();
    return draft.plan(replicas);
  }

  /** The revisions to measure before deciding (null: none), and the stable check's window. */
  record Due(Integer canary, Integer stable, Duration stableWindow) {}

  /**
   * The measurements the decision will need, taken before it is made: the canary's once its
   * interval has passed, the stable revision's an interval after a rollback. None while a person's
   * action waits, since the action may change what runs; the next reconcile measures.
   */
  static Due due(AutomationDeployment fleet, int specRevision, String action, Instant now) {
    var status = fleet.getStatus();
    if (status == null || action != null) {
      return new Due(null, null, null);
    }
    var interval = Durations.parse(fleet.getSpec().analysis.interval);
    var canaryOngoing =
        Objects.equals(status.canaryRevision, specRevision)
            && !Objects.equals(status.stableRevision, specRevision)
            && !Objects.equals(status.abortedRevision, specRevision);
    var canaryDue =
        canaryOngoing
            && nextMeasurement(status, interval).map(at -> !now.isBefore(at)).orElse(false);
    var last = lastRollback(status);
    var stableDue =
        last != null
            && last.stableCheck == StableCheck.PENDING
            && !now.isBefore(Instant.parse(last.time).plus(interval));
    return new Due(
        canaryDue ? status.canaryRevision : null,
        stableDue ? last.to : null,
        stableDue ? Duration.between(Instant.parse(last.time), now) : null);
  }

  /** When the canary's next measurement is due; empty while it has nothing fair to measure. */
  private static Optional<Instant> nextMeasurement(
      AutomationDeploymentStatus status, Duration interval) {
    if (status.canaryWeight == null || status.canaryWeight == 0) {
      return Optional.empty();
    }
    var last = status.lastAnalysis;
    var measuredBefore = last != null && Objects.equals(last.revision, status.canaryRevision);
    if (!measuredBefore && status.weightSince == null) {
      return Optional.empty(); // its pods are not all ready yet
    }
    return Optional.of(
        Instant.parse(measuredBefore ? last.time : status.weightSince).plus(interval));
  }

  private static Rollback lastRollback(AutomationDeploymentStatus status) {
    return status.rollbacks.isEmpty() ? null : status.rollbacks.get(status.rollbacks.size() - 1);
  }

  private void adoptSpecRevision() {
    status.specRevision = facts.specRevision();
    if (status.stableRevision == null) {
      // The first revision has nothing to be compared with: it goes straight to full weight.
      status.stableRevision = facts.specRevision();
      draft.history(facts.specRevision(), facts.specImage(), Outcome.STABLE);
    }
  }

  /** Moves the rollout on by what is ready, judging the canary's measurement when one is due. */
  private void rollOut() {
    var specRevision = facts.specRevision();
    if (Objects.equals(status.stableRevision, specRevision)) {
      if (status.canaryRevision != null) {
        // The spec went back to the stable revision: the canary is simply dropped.
        draft.history(status.canaryRevision, null, Outcome.SUPERSEDED);
        status.canaryRevision = null;
        draft.resetSteps();
      }
      draft.clearAbort();
      return;
    }
    if (Objects.equals(status.abortedRevision, specRevision)) {
      return;
    }
    if (!Objects.equals(status.canaryRevision, specRevision)) {
      startCanary();
    }
    var judged = judgeMeasurement();
    if (status.canaryRevision == null || !judged) {
      return; // rolled back, or a measurement is due: no step moves before it is judged
    }
    var noData =
        status.lastAnalysis != null && Objects.equals(status.lastAnalysis.revision, specRevision)
            ? CanaryAnalysis.missingData(spec, status.lastAnalysis)
            : null;
    if (Boolean.TRUE.equals(spec.paused)) {
      draft.hold =
          new FleetStatusAggregator.Wait(
              "SpecPaused", "Paused by spec.paused; analysis and rollback go on.");
    } else if (noData != null) {
      draft.hold =
          new FleetStatusAggregator.Wait("NoData", "Waiting for data before going on. " + noData);
    } else {
      walkSteps();
    }
  }

  private void startCanary() {
    if (status.canaryRevision != null) {
      draft.history(status.canaryRevision, null, Outcome.SUPERSEDED);
    }
    status.canaryRevision = facts.specRevision();
    draft.resetSteps();
    status.currentStepIndex = 0;
    status.stepStartedAt = now.toString();
    draft.history(facts.specRevision(), facts.specImage(), Outcome.CANARY);
    draft.event(
        KubeEvents.NORMAL,
        "CanaryStarted",
        "Revision %d (%s) starts its canary steps against revision %d."
            .formatted(facts.specRevision(), facts.specImage(), status.stableRevision));
  }

  /** Goes through every step that is done, stopping at the first that is not; then promotes. */
  private void walkSteps() {
    var steps = draft.steps();
    status.steps = steps.size();
    while (status.currentStepIndex < steps.size()) {
      if (!stepDone(steps.get(status.currentStepIndex))) {
        return;
      }
      status.currentStepIndex++;
      status.stepStartedAt = now.toString();
      status.passedMeasurements = 0;
    }
    var promoted = status.canaryRevision;
    draft.promote("promoted after " + steps.size() + " steps");
    draft.event(
        KubeEvents.NORMAL,
        "Promoted",
        "Revision %d is stable at full weight after its %d canary steps."
            .formatted(promoted, steps.size()));
  }

  private boolean stepDone(AutomationDeploymentSpec.Step step) {
    if (step.setWeight != null) {
      status.canaryWeight = step.setWeight;
      var canary = draft.canaryReplicas();
      var ready =
          facts.pods().ready(status.canaryRevision, canary)
              && facts.pods().ready(status.stableRevision, spec.replicas - canary);
      if (!ready) {
        draft.wake(Duration.ofSeconds(2));
      }
      return ready;
    }
    if (step.pause != null) {
      if (step.pause.duration == null) {
        draft.hold =
            new FleetStatusAggregator.Wait(
                "AwaitingPromotion",
                "Paused at step %d until promoted: kubectl annotate automationdeployment %s robusto.dev/action=promote"
                    .formatted(status.currentStepIndex + 1, draft.fleet.getMetadata().getName()));
        return false;
      }
      var end = Instant.parse(status.stepStartedAt).plus(Durations.parse(step.pause.duration));
      if (now.isBefore(end)) {
        draft.wake(Duration.between(now, end));
        return false;
      }
      return true;
    }
    return status.passedMeasurements != null
        && status.passedMeasurements >= step.analysis.measurements;
  }

  /**
   * The canary's measurement, when one is due: a breach rolls back, a pass counts. False when one
   * is due but was not taken in this reconcile (a person's action came first): the next takes it.
   */
  private boolean judgeMeasurement() {
    var due = nextMeasurement(status, interval);
    if (due.isEmpty()) {
      return true;
    }
    if (now.isBefore(due.get())) {
      draft.wake(Duration.between(now, due.get()));
      return true;
    }
    AnalysisRun run = facts.canaryRun();
    if (run == null || !Objects.equals(run.revision, status.canaryRevision)) {
      draft.wake(Duration.ofSeconds(1));
      return false;
    }
    status.lastAnalysis = run;
    draft.wake(interval);
    var reason = CanaryAnalysis.rollbackReason(spec, run);
    if (reason != null) {
      draft.rollback(reason, "metric", Outcome.ROLLED_BACK);
      draft.turnOffFlags(reason);
      return true;
    }
    var warning = CanaryAnalysis.warning(spec, run);
    if (warning != null && !"Breached".equals(draft.previousConditionReason("MetricWarning"))) {
      draft.event(KubeEvents.WARNING, "MetricWarning", warning);
    }
    status.passedMeasurements =
        !CanaryAnalysis.passed(spec, run)
            ? 0
            : status.passedMeasurements == null ? 1 : status.passedMeasurements + 1;
    return true;
  }

  /** Stable and canary sizes by weight; weights and ready counts into the status. */
  private Map<Integer, Integer> sizeRevisions() {
    var canary = status.canaryRevision == null ? 0 : draft.canaryReplicas();
    var wanted = new HashMap<Integer, Integer>();
    wanted.put(status.stableRevision, spec.replicas - canary);
    if (status.canaryRevision != null) {
      wanted.put(status.canaryRevision, canary);
    }
    var sizes = new AutomationDeploymentStatus.Replicas();
    sizes.stable = spec.replicas - canary;
    sizes.stableReady = facts.pods().readyReplicas(status.stableRevision);
    sizes.canary = canary;
    sizes.canaryReady = facts.pods().readyReplicas(status.canaryRevision);
    status.replicas = sizes;
    status.canaryWeight = status.canaryRevision == null ? 0 : status.canaryWeight;
    status.stableWeight = 100 - (status.canaryWeight == null ? 0 : status.canaryWeight);
    if (status.canaryRevision != null
        && canary > 0
        && status.weightSince == null
        && facts.pods().ready(status.canaryRevision, canary)) {
      status.weightSince = now.toString();
    }
    return wanted;
  }

  /** Rollback completion, then the check that the stable revision is healthy. */
  private void followRollback() {
    var last = lastRollback(status);
    if (last == null) {
      return;
    }
    if (last.completedAt == null) {
      var canaryGone =
          last.from == null
              || Objects.equals(last.from, status.stableRevision)
              || facts.pods().live(last.from) == 0;
      if (canaryGone && facts.pods().ready(status.stableRevision, spec.replicas)) {
        last.completedAt = now.toString();
        draft.event(
            KubeEvents.NORMAL,
            "RollbackComplete",
            "Revision %d runs all %d replicas; revision %s has none (%d ms after the rollback)."
                .formatted(
                    status.stableRevision,
                    spec.replicas,
                    last.from,
                    Duration.between(Instant.parse(last.time), now).toMillis()));
      } else {
        draft.wake(Duration.ofSeconds(1));
      }
    }
    if (last.stableCheck == StableCheck.PENDING) {
      checkStable(last);
    }
  }

  private void checkStable(Rollback last) {
    var due = Instant.parse(last.time).plus(interval);
    if (now.isBefore(due)) {
      draft.wake(Duration.between(now, due));
      return;
    }
    var run = facts.stableRun();
    if (run == null || !Objects.equals(run.revision, last.to)) {
      draft.wake(Duration.ofSeconds(1));
      return;
    }
    var breach = CanaryAnalysis.rollbackReason(spec, run);
    var missing = CanaryAnalysis.missingData(spec, run);
    if (breach != null) {
      last.stableCheck = StableCheck.UNHEALTHY;
      last.stableCheckMessage = breach + " The stable revision is not healthy either.";
      draft.event(KubeEvents.WARNING, "StableUnhealthy", last.stableCheckMessage);
    } else if (missing != null) {
      last.stableCheck = StableCheck.NO_DATA;
      last.stableCheckMessage = missing;
    } else {
      last.stableCheck = StableCheck.HEALTHY;
      last.stableCheckMessage =
          "Revision %d passed every metric after the rollback: %s."
              .formatted(last.to, summary(run));
      draft.event(KubeEvents.NORMAL, "StableHealthy", last.stableCheckMessage);
    }
  }

  private void finishStatus() {
    while (status.history.size() > spec.revisionHistoryLimit) {
      status.history.remove(0);
    }
    var stableReady = facts.pods().ready(status.stableRevision, status.replicas.stable);
    FleetStatusAggregator.aggregate(draft.fleet, draft.previous, status, stableReady, draft.hold);
    if (!stableReady) {
      draft.wake(Duration.ofSeconds(2));
    }
  }

  private static String summary(AnalysisRun run) {
    return String.join(
        ", ",
        run.metrics.stream().map(m -> m.name + " " + CanaryAnalysis.number(m.value)).toList());
  }
}
