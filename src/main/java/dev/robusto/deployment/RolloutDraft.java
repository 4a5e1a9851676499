package dev.robusto.deployment;

import dev.robusto.deployment.AutomationDeploymentStatus.Outcome;
import dev.robusto.deployment.AutomationDeploymentStatus.Revision;
import dev.robusto.deployment.AutomationDeploymentStatus.Rollback;
import dev.robusto.deployment.AutomationDeploymentStatus.StableCheck;
import dev.robusto.operator.Conditions;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.StatusWrites;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A rollout decision being made: the next status, drafted from a copy of the current one, and the
 * effects collected on the way. The moves that a person's action and a measurement share (promote,
 * roll back, history, steps) live here, so both say the same thing the same way.
 */
final class RolloutDraft {

  private static final int ROLLBACKS_KEPT = 10;

  final AutomationDeployment fleet;
  final AutomationDeploymentSpec spec;
  final FleetFacts facts;
  final Instant now;
  final AutomationDeploymentStatus previous;
  final AutomationDeploymentStatus status;
  FleetStatusAggregator.Wait hold;
  private final List<FleetPlan.Event> events = new ArrayList<>();
  private final List<FleetPlan.Change> changes = new ArrayList<>();
  private final List<String> rollbackTriggers = new ArrayList<>();
  private final List<String> flagsToTurnOff = new ArrayList<>();
  private String rollbackReason;
  private Duration wakeUp = FleetDecision.RECHECK;

  RolloutDraft(AutomationDeployment fleet, AutomationDeploymentStatus previous, FleetFacts facts) {
    this.fleet = fleet;
    this.spec = fleet.getSpec();
    this.facts = facts;
    this.now = facts.now();
    this.previous = previous;
    this.status =
        StatusWrites.copy(
            previous, AutomationDeploymentStatus.class, AutomationDeploymentStatus::new);
  }

  int specRevision() {
    return facts.specRevision();
  }

  String promote(String how) {
    var specRevision = specRevision();
    if (Objects.equals(status.stableRevision, specRevision)) {
      return "revision " + specRevision + " is already stable";
    }
    var from = status.stableRevision;
    status.stableRevision = specRevision;
    status.canaryRevision = null;
    clearAbort();
    resetSteps();
    history(from, null, Outcome.SUPERSEDED);
    history(specRevision, facts.specImage(), Outcome.PROMOTED);
    change("stable=" + from, "stable=" + specRevision);
    return "revision " + specRevision + " " + how;
  }

  /** Canary to zero, stable to full; says why everywhere a person looks. */
  String rollback(String reason, String trigger, Outcome outcome) {
    var from = status.canaryRevision;
    status.abortedRevision = specRevision();
    status.abortReason = reason;
    history(from, null, outcome);
    status.canaryRevision = null;
    resetSteps();
    addRollback(from, status.stableRevision, reason);
    event(
        KubeEvents.WARNING,
        outcome.toString(),
        reason + " Revision " + status.stableRevision + " takes all replicas.");
    change("canary=" + from, "stable=" + status.stableRevision);
    rollbackTriggers.add(trigger);
    return "revision " + from + " rolled back to " + status.stableRevision;
  }

  /** A rollback by a metric also turns off the flags the spec lists, for the fleet's tenant. */
  void turnOffFlags(String reason) {
    if (spec.onRollback != null) {
      flagsToTurnOff.addAll(spec.onRollback.disableFlags);
      rollbackReason = reason;
    }
  }

  void addRollback(Integer from, Integer to, String reason) {
    var entry = new Rollback();
    entry.time = now.toString();
    entry.from = from;
    entry.to = to;
    entry.reason = reason;
    entry.stableCheck = StableCheck.PENDING;
    status.rollbacks.add(entry);
    while (status.rollbacks.size() > ROLLBACKS_KEPT) {
      status.rollbacks.remove(0);
    }
  }

  void countRollback(String trigger) {
    rollbackTriggers.add(trigger);
  }

  void clearAbort() {
    status.abortedRevision = null;
    status.abortReason = null;
  }

  void resetSteps() {
    status.currentStepIndex = null;
    status.steps = null;
    status.stepStartedAt = null;
    status.weightSince = null;
    status.passedMeasurements = null;
    status.canaryWeight = 0;
  }

  void history(Integer revision, String image, Outcome outcome) {
    if (revision == null) {
      return;
    }
    var entry =
        status.history.stream().filter(r -> r.revision == revision).findFirst().orElse(null);
    if (entry == null) {
      entry = new Revision();
      entry.revision = revision;
      entry.createdAt = now.toString();
      status.history.add(entry);
    }
    if (image != null) {
      entry.image = image;
    }
    entry.outcome = outcome;
  }

  void event(String type, String reason, String message) {
    events.add(new FleetPlan.Event(type, reason, message));
  }

  void change(String before, String after) {
    changes.add(new FleetPlan.Change(before, after));
  }

  /** The step a person sees, counted from 1 (0: none). */
  int step() {
    return status.currentStepIndex == null ? 0 : status.currentStepIndex + 1;
  }

  List<AutomationDeploymentSpec.Step> steps() {
    var steps =
        spec.strategy == null || spec.strategy.canary == null ? null : spec.strategy.canary.steps;
    return steps == null || steps.isEmpty()
        ? List.of(
            AutomationDeploymentSpec.Step.weight(25),
            AutomationDeploymentSpec.Step.analysis(),
            AutomationDeploymentSpec.Step.weight(50),
            AutomationDeploymentSpec.Step.analysis())
        : steps;
  }

  int canaryReplicas() {
    var weight = status.canaryWeight == null ? 0 : status.canaryWeight;
    if (weight == 0 || spec.replicas == 0) {
      return 0;
    }
    return Math.min(spec.replicas, Math.max(1, Math.round(spec.replicas * weight / 100f)));
  }

  String previousConditionReason(String type) {
    return previous == null ? null : Conditions.reason(previous.conditions, type);
  }

  /** Looks again after {@code after} at the latest (never sooner than 100 ms). */
  void wake(Duration after) {
    var smaller = wakeUp.compareTo(after) <= 0 ? wakeUp : after;
    wakeUp = smaller.isNegative() || smaller.isZero() ? Duration.ofMillis(100) : smaller;
  }

  FleetPlan plan(Map<Integer, Integer> replicas) {
    var inUse = new ArrayList<Integer>();
    inUse.add(specRevision());
    inUse.add(status.stableRevision);
    if (status.canaryRevision != null) {
      inUse.add(status.canaryRevision);
    }
    return new FleetPlan(
        status,
        replicas,
        flagsToTurnOff,
        rollbackReason,
        changes,
        rollbackTriggers,
        events,
        facts.action(),
        inUse,
        wakeUp);
  }
}
