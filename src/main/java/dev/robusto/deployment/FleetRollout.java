package dev.robusto.deployment;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.BatchSettings;
import dev.robusto.deployment.AutomationDeploymentStatus.Revision;
import dev.robusto.deployment.AutomationDeploymentStatus.Rollback;
import dev.robusto.flag.FlagSwitch;
import dev.robusto.operator.Durations;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.StatusWrites;
import dev.robusto.store.AuditCanonical;
import dev.robusto.store.AuditEntry;
import dev.robusto.store.AuditLog;
import dev.robusto.store.BatchStore;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;

/**
 * One reconcile of a fleet's rollout. Where the rollout stands lives in the status (stable and
 * canary revisions, step, last analysis), so each reconcile reads it, carries out a person's
 * action, measures the canary when a measurement is due, moves on by at most what is ready, and
 * sizes the revisions' Deployments. A breach rolls back at once: canary to zero, stable to full,
 * with the metric, value and threshold in the status, an Event, an audit entry,
 * robusto_rollbacks_total, and the listed flags turned off.
 */
final class FleetRollout {

  private static final Duration RECHECK = Duration.ofSeconds(15);
  private static final int ROLLBACKS_KEPT = 10;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An Event to record once the status is written. */
  private record PendingEvent(String type, String reason, String message) {}

  private final AutomationDeployment fleet;
  private final AutomationDeploymentSpec spec;
  private final Context<AutomationDeployment> context;
  private final KubernetesClient client;
  private final Instant now;
  private final BatchStore.TenantLimits tenant;
  private final CanaryAnalysis analysis;
  private final AuditLog audit;
  private final MeterRegistry registry;
  private final AutomationDeploymentStatus status;
  private final List<ControllerRevision> revisions;
  private final List<PendingEvent> events = new ArrayList<>();
  private final Duration interval;
  private final FleetReplicas replicas;
  private Duration wakeUp = RECHECK;
  private int specRevision;
  private FleetRevisions.Content specContent;
  private FleetStatusAggregator.Wait hold;

  /** {@code tenant} is null when the fleet's namespace belongs to no tenant. */
  FleetRollout(
      AutomationDeployment fleet,
      Context<AutomationDeployment> context,
      Instant now,
      BatchStore.TenantLimits tenant,
      BatchSettings settings,
      CanaryAnalysis analysis,
      AuditLog audit,
      MeterRegistry registry) {
    this.fleet = fleet;
    this.spec = fleet.getSpec();
    this.context = context;
    this.client = context.getClient();
    this.now = now;
    this.tenant = tenant;
    this.analysis = analysis;
    this.audit = audit;
    this.registry = registry;
    this.status =
        fleet.getStatus() == null
            ? new AutomationDeploymentStatus()
            : JSON.convertValue(fleet.getStatus(), AutomationDeploymentStatus.class);
    this.revisions = new ArrayList<>(context.getSecondaryResources(ControllerRevision.class));
    this.interval = Durations.parse(spec.analysis.interval);
    this.replicas = new FleetReplicas(fleet, context, revisions, tenant, settings);
  }

  /** The whole reconcile, in order; returns when to look again. */
  Duration run() {
    resolveSpecRevision();
    obeyAction();
    rollOut();
    applyReplicas();
    followRollback();
    finishStatus();
    writeStatus();
    pruneRevisions();
    return wakeUp;
  }

  /** A fleet that cannot run (its namespace belongs to no tenant): says so and what to do. */
  Duration block(String reason, String message) {
    FleetStatusAggregator.blocked(fleet, status, reason, message);
    writeStatus();
    return RECHECK;
  }

  /** Finds, or records, the revision the spec asks for. */
  private void resolveSpecRevision() {
    specContent = FleetRevisions.Content.of(spec);
    var existing = FleetRevisions.find(revisions, specContent.hash());
    ControllerRevision revision;
    if (existing.isPresent()) {
      revision = existing.get();
    } else {
      var highest = status.history.stream().mapToInt(r -> r.revision).max().orElse(0);
      var recorded = FleetRevisions.create(client, fleet, revisions, highest, specContent);
      revision = recorded.revision();
      revisions.add(revision);
      if (recorded.created()) {
        record(
            "create",
            "ControllerRevision/"
                + fleet.getMetadata().getNamespace()
                + "/"
                + revision.getMetadata().getName(),
            null,
            "revision=" + revision.getRevision());
      }
    }
    specRevision = (int) (long) revision.getRevision();
    status.specRevision = specRevision;
    if (status.stableRevision == null) {
      // The first revision has nothing to be compared with: it goes straight to full weight.
      status.stableRevision = specRevision;
      history(specRevision, specContent.image(), "Stable");
    }
  }

  /** Carries out a person's order from the action annotation, then removes it. */
  private void obeyAction() {
    var annotations = fleet.getMetadata().getAnnotations();
    var action =
        annotations == null ? null : annotations.get(AutomationDeployment.ACTION_ANNOTATION);
    if (action == null) {
      return;
    }
    String outcome;
    if (action.equals("promote")) {
      outcome = promote("promoted by request, skipping its remaining steps and analysis");
    } else if (action.equals("abort")) {
      outcome =
          status.canaryRevision == null
              ? "nothing to abort: no canary is running"
              : rollback("Aborted by request at step " + step() + ".", "person", "Aborted");
    } else if (action.equals("retry")) {
      if (Objects.equals(status.abortedRevision, specRevision)) {
        status.abortedRevision = null;
        status.abortReason = null;
        outcome = "revision " + specRevision + " starts its steps again";
      } else {
        outcome = "nothing to retry: revision " + specRevision + " was not stopped";
      }
    } else if (action.matches("rollback:[0-9]{1,9}")) {
      outcome = rollbackTo(Integer.parseInt(action.substring("rollback:".length())));
    } else {
      outcome = "unknown action; use promote, abort, retry or rollback:<revision>";
    }
    status.lastAction = "%s at %s: %s.".formatted(action, now, outcome);
    event(KubeEvents.NORMAL, "Action", status.lastAction);
    client
        .resources(AutomationDeployment.class)
        .inNamespace(fleet.getMetadata().getNamespace())
        .withName(fleet.getMetadata().getName())
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"metadata\": {\"annotations\": {\""
                + AutomationDeployment.ACTION_ANNOTATION
                + "\": null}}}");
  }

  private String promote(String how) {
    if (Objects.equals(status.stableRevision, specRevision)) {
      return "revision " + specRevision + " is already stable";
    }
    var from = status.stableRevision;
    status.stableRevision = specRevision;
    status.canaryRevision = null;
    status.abortedRevision = null;
    status.abortReason = null;
    resetSteps();
    history(from, null, "Superseded");
    history(specRevision, specContent.image(), "Promoted");
    record("update", "stable=" + from, "stable=" + specRevision);
    return "revision " + specRevision + " " + how;
  }

  /** Stable revision {@code target} at full weight at once; the spec's waits if it differs. */
  private String rollbackTo(int target) {
    var kept = FleetRevisions.number(revisions, target);
    if (kept.isEmpty()) {
      return "refused: no revision %d is kept (kept: %s)"
          .formatted(
              target,
              revisions.stream().map(r -> Long.toString(r.getRevision())).sorted().toList());
    }
    var from = status.canaryRevision != null ? status.canaryRevision : status.stableRevision;
    var reason =
        "Rolled back to revision %d by request.%s"
            .formatted(
                target,
                target == specRevision
                    ? ""
                    : " Revision %d (the spec) waits until spec.template or processor changes, or robusto.dev/action=retry."
                        .formatted(specRevision));
    if (status.canaryRevision != null) {
      history(status.canaryRevision, null, "RolledBack");
    }
    status.canaryRevision = null;
    resetSteps();
    if (!Objects.equals(status.stableRevision, target)) {
      history(status.stableRevision, null, "Superseded");
    }
    status.stableRevision = target;
    history(target, FleetRevisions.content(kept.get()).image(), "Stable");
    if (target != specRevision) {
      status.abortedRevision = specRevision;
      status.abortReason = reason;
    } else {
      status.abortedRevision = null;
      status.abortReason = null;
    }
    addRollback(from, target, reason);
    rollbacks("person");
    record("update", "stable=" + from, "stable=" + target);
    return "revision " + target + " is stable at full weight";
  }

  /** Moves the rollout on by what is ready, measuring the canary when a measurement is due. */
  private void rollOut() {
    if (Objects.equals(status.stableRevision, specRevision)) {
      if (status.canaryRevision != null) {
        // The spec went back to the stable revision: the canary is simply dropped.
        history(status.canaryRevision, null, "Superseded");
        status.canaryRevision = null;
        resetSteps();
      }
      status.abortedRevision = null;
      status.abortReason = null;
      return;
    }
    if (Objects.equals(status.abortedRevision, specRevision)) {
      return;
    }
    if (!Objects.equals(status.canaryRevision, specRevision)) {
      if (status.canaryRevision != null) {
        history(status.canaryRevision, null, "Superseded");
      }
      status.canaryRevision = specRevision;
      resetSteps();
      status.currentStepIndex = 0;
      status.stepStartedAt = now.toString();
      history(specRevision, specContent.image(), "Canary");
      event(
          KubeEvents.NORMAL,
          "CanaryStarted",
          "Revision %d (%s) starts its canary steps against revision %d."
              .formatted(specRevision, specContent.image(), status.stableRevision));
    }
    measureIfDue();
    if (status.canaryRevision == null) {
      return; // rolled back
    }
    var noData =
        status.lastAnalysis != null && Objects.equals(status.lastAnalysis.revision, specRevision)
            ? CanaryAnalysis.missingData(spec, status.lastAnalysis)
            : null;
    if (Boolean.TRUE.equals(spec.paused)) {
      hold =
          new FleetStatusAggregator.Wait(
              "SpecPaused", "Paused by spec.paused; analysis and rollback go on.");
      return;
    }
    if (noData != null) {
      hold =
          new FleetStatusAggregator.Wait("NoData", "Waiting for data before going on. " + noData);
      return;
    }
    var steps = steps();
    status.steps = steps.size();
    while (status.currentStepIndex < steps.size()) {
      var step = steps.get(status.currentStepIndex);
      if (step.setWeight != null) {
        status.canaryWeight = step.setWeight;
        if (!replicas.ready(status.canaryRevision, canaryReplicas())
            || !replicas.ready(status.stableRevision, spec.replicas - canaryReplicas())) {
          wakeUp = min(wakeUp, Duration.ofSeconds(2));
          return;
        }
      } else if (step.pause != null) {
        if (step.pause.duration == null) {
          hold =
              new FleetStatusAggregator.Wait(
                  "AwaitingPromotion",
                  "Paused at step %d until promoted: kubectl annotate automationdeployment %s robusto.dev/action=promote"
                      .formatted(status.currentStepIndex + 1, fleet.getMetadata().getName()));
          return;
        }
        var end = Instant.parse(status.stepStartedAt).plus(Durations.parse(step.pause.duration));
        if (now.isBefore(end)) {
          wakeUp = min(wakeUp, Duration.between(now, end));
          return;
        }
      } else if (status.passedMeasurements == null
          || status.passedMeasurements < step.analysis.measurements) {
        return;
      }
      status.currentStepIndex++;
      status.stepStartedAt = now.toString();
      status.passedMeasurements = 0;
    }
    var promoted = status.canaryRevision;
    promote("promoted after " + steps.size() + " steps");
    event(
        KubeEvents.NORMAL,
        "Promoted",
        "Revision %d is stable at full weight after its %d canary steps."
            .formatted(promoted, steps.size()));
  }

  /** Measures the canary when it has weight and an interval has passed since the last time. */
  private void measureIfDue() {
    if (status.canaryWeight == null || status.canaryWeight == 0) {
      return;
    }
    var last = status.lastAnalysis;
    var measuredBefore = last != null && Objects.equals(last.revision, status.canaryRevision);
    if (!measuredBefore && status.weightSince == null) {
      return; // its pods are not all ready yet: nothing fair to measure
    }
    var since = Instant.parse(measuredBefore ? last.time : status.weightSince);
    var due = since.plus(interval);
    if (now.isBefore(due)) {
      wakeUp = min(wakeUp, Duration.between(now, due));
      return;
    }
    AutomationDeploymentStatus.AnalysisRun run;
    try {
      run = analysis.measure(fleet, tenant.tenantId(), status.canaryRevision, interval, now, last);
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot read the fleet's attempts", e);
    }
    status.lastAnalysis = run;
    wakeUp = min(wakeUp, interval);
    var reason = CanaryAnalysis.rollbackReason(spec, run);
    if (reason != null) {
      rollback(reason, "metric", "RolledBack");
      return;
    }
    var warning = CanaryAnalysis.warning(spec, run);
    var warnedBefore = conditionReason("MetricWarning");
    if (warning != null && !"Breached".equals(warnedBefore)) {
      event(KubeEvents.WARNING, "MetricWarning", warning);
    }
    if (CanaryAnalysis.passed(spec, run)) {
      status.passedMeasurements =
          status.passedMeasurements == null ? 1 : status.passedMeasurements + 1;
    } else {
      status.passedMeasurements = 0;
    }
  }

  /** Canary to zero, stable to full; says why everywhere a person looks. */
  private String rollback(String reason, String trigger, String outcome) {
    var from = status.canaryRevision;
    status.abortedRevision = specRevision;
    status.abortReason = reason;
    history(from, null, outcome);
    status.canaryRevision = null;
    resetSteps();
    addRollback(from, status.stableRevision, reason);
    event(
        KubeEvents.WARNING,
        outcome,
        reason + " Revision " + status.stableRevision + " takes all replicas.");
    record("update", "canary=" + from, "stable=" + status.stableRevision);
    rollbacks(trigger);
    if ("metric".equals(trigger) && spec.onRollback != null) {
      for (var flag : spec.onRollback.disableFlags) {
        FlagSwitch.turnOffOnRollback(
                client,
                audit,
                AutomationDeploymentReconciler.ACTOR,
                flag,
                tenant.tenantId(),
                "Turned off by the rollback of AutomationDeployment %s/%s: %s"
                    .formatted(
                        fleet.getMetadata().getNamespace(), fleet.getMetadata().getName(), reason))
            .ifPresent(
                scope ->
                    event(
                        KubeEvents.WARNING,
                        "FlagDisabled",
                        "FeatureFlag " + flag + " turned off for " + scope + "."));
      }
    }
    return "revision " + from + " rolled back to " + status.stableRevision;
  }

  private void addRollback(Integer from, Integer to, String reason) {
    var entry = new Rollback();
    entry.time = now.toString();
    entry.from = from;
    entry.to = to;
    entry.reason = reason;
    entry.stableCheck = "Pending";
    status.rollbacks.add(entry);
    while (status.rollbacks.size() > ROLLBACKS_KEPT) {
      status.rollbacks.remove(0);
    }
  }

  private void rollbacks(String trigger) {
    registry.counter("robusto.rollbacks", "trigger", trigger).increment();
  }

  /** Sizes the stable and canary Deployments; the other revisions' go to zero, then away. */
  private void applyReplicas() {
    var canary = status.canaryRevision == null ? 0 : canaryReplicas();
    var wanted = new HashMap<Integer, Integer>();
    wanted.put(status.stableRevision, spec.replicas - canary);
    if (status.canaryRevision != null) {
      wanted.put(status.canaryRevision, canary);
    }
    for (var written : replicas.apply(wanted)) {
      var name = written.deployment().getMetadata().getName();
      record(
          written.created() ? "create" : "update",
          "Deployment/" + fleet.getMetadata().getNamespace() + "/" + name,
          null,
          "replicas=" + written.deployment().getSpec().getReplicas());
      if (!written.created()) {
        event(
            KubeEvents.NORMAL,
            "DriftRepaired",
            "Deployment %s was edited by hand; the fleet's settings are back.".formatted(name));
      }
    }
    var sizes = new AutomationDeploymentStatus.Replicas();
    sizes.stable = spec.replicas - canary;
    sizes.stableReady = replicas.readyReplicas(status.stableRevision);
    sizes.canary = canary;
    sizes.canaryReady =
        status.canaryRevision == null ? 0 : replicas.readyReplicas(status.canaryRevision);
    status.replicas = sizes;
    status.canaryWeight = status.canaryRevision == null ? 0 : status.canaryWeight;
    status.stableWeight = 100 - (status.canaryWeight == null ? 0 : status.canaryWeight);
    if (status.canaryRevision != null
        && canary > 0
        && status.weightSince == null
        && replicas.ready(status.canaryRevision, canary)) {
      status.weightSince = now.toString();
    }
  }

  /** Rollback completion, then the check that the stable revision is healthy. */
  private void followRollback() {
    if (status.rollbacks.isEmpty()) {
      return;
    }
    var last = status.rollbacks.get(status.rollbacks.size() - 1);
    if (last.completedAt == null) {
      var canaryGone =
          last.from == null
              || Objects.equals(last.from, status.stableRevision)
              || replicas.live(last.from) == 0;
      if (canaryGone && replicas.ready(status.stableRevision, spec.replicas)) {
        last.completedAt = now.toString();
        event(
            KubeEvents.NORMAL,
            "RollbackComplete",
            "Revision %d runs all %d replicas; revision %s has none (%d ms after the rollback)."
                .formatted(
                    status.stableRevision,
                    spec.replicas,
                    last.from,
                    Duration.between(Instant.parse(last.time), now).toMillis()));
      } else {
        wakeUp = min(wakeUp, Duration.ofSeconds(1));
      }
    }
    if (!"Pending".equals(last.stableCheck)) {
      return;
    }
    var due = Instant.parse(last.time).plus(interval);
    if (now.isBefore(due)) {
      wakeUp = min(wakeUp, Duration.between(now, due));
      return;
    }
    AutomationDeploymentStatus.AnalysisRun run;
    try {
      run =
          analysis.measure(
              fleet,
              tenant.tenantId(),
              last.to,
              Duration.between(Instant.parse(last.time), now),
              now,
              null);
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot read the fleet's attempts", e);
    }
    var breach = CanaryAnalysis.rollbackReason(spec, run);
    var missing = CanaryAnalysis.missingData(spec, run);
    if (breach != null) {
      last.stableCheck = "Unhealthy";
      last.stableCheckMessage = breach + " The stable revision is not healthy either.";
      event(KubeEvents.WARNING, "StableUnhealthy", last.stableCheckMessage);
    } else if (missing != null) {
      last.stableCheck = "NoData";
      last.stableCheckMessage = missing;
    } else {
      last.stableCheck = "Healthy";
      last.stableCheckMessage =
          "Revision %d passed every metric after the rollback: %s."
              .formatted(last.to, summary(run));
      event(KubeEvents.NORMAL, "StableHealthy", last.stableCheckMessage);
    }
  }

  private void finishStatus() {
    while (status.history.size() > spec.revisionHistoryLimit) {
      status.history.remove(0);
    }
    var stableReady = replicas.ready(status.stableRevision, status.replicas.stable);
    FleetStatusAggregator.aggregate(fleet, status, stableReady, hold);
    if (!stableReady) {
      wakeUp = min(wakeUp, Duration.ofSeconds(2));
    }
  }

  private String conditionReason(String type) {
    return fleet.getStatus() == null
        ? null
        : fleet.getStatus().conditions.stream()
            .filter(c -> c.getType().equals(type))
            .map(Condition::getReason)
            .findFirst()
            .orElse(null);
  }

  private void writeStatus() {
    var next = status;
    StatusWrites.write(fleet, context, f -> next, AutomationDeployment::new);
    for (var e : events) {
      KubeEvents.record(
          client,
          fleet.getMetadata().getNamespace(),
          new ObjectReferenceBuilder()
              .withApiVersion(fleet.getApiVersion())
              .withKind(fleet.getKind())
              .withName(fleet.getMetadata().getName())
              .withNamespace(fleet.getMetadata().getNamespace())
              .withUid(fleet.getMetadata().getUid())
              .build(),
          e.type(),
          e.reason(),
          e.message());
    }
  }

  private void pruneRevisions() {
    var inUse = new ArrayList<Integer>();
    inUse.add(specRevision);
    inUse.add(status.stableRevision);
    if (status.canaryRevision != null) {
      inUse.add(status.canaryRevision);
    }
    FleetRevisions.prune(client, revisions, spec.revisionHistoryLimit, inUse);
  }

  // --- helpers

  private List<AutomationDeploymentSpec.Step> steps() {
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

  private int step() {
    return status.currentStepIndex == null ? 0 : status.currentStepIndex + 1;
  }

  private void resetSteps() {
    status.currentStepIndex = null;
    status.steps = null;
    status.stepStartedAt = null;
    status.weightSince = null;
    status.passedMeasurements = null;
    status.canaryWeight = 0;
  }

  private int canaryReplicas() {
    var weight = status.canaryWeight == null ? 0 : status.canaryWeight;
    if (weight == 0 || spec.replicas == 0) {
      return 0;
    }
    return Math.min(spec.replicas, Math.max(1, Math.round(spec.replicas * weight / 100f)));
  }

  private void history(Integer revision, String image, String outcome) {
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

  private void event(String type, String reason, String message) {
    events.add(new PendingEvent(type, reason, message));
  }

  /** A change of the fleet's revisions (states hashed, as everywhere in the audit log). */
  private void record(String action, String before, String after) {
    record(
        action,
        "AutomationDeployment/"
            + fleet.getMetadata().getNamespace()
            + "/"
            + fleet.getMetadata().getName(),
        before,
        after);
  }

  private void record(String action, String resource, String before, String after) {
    audit.append(
        new AuditEntry(
            AutomationDeploymentReconciler.ACTOR,
            action,
            resource,
            tenant == null ? null : tenant.tenantId(),
            before == null ? null : AuditCanonical.stateHash(before),
            after == null ? null : AuditCanonical.stateHash(after)));
  }

  private static Duration min(Duration a, Duration b) {
    var smaller = a.compareTo(b) <= 0 ? a : b;
    return smaller.isNegative() || smaller.isZero() ? Duration.ofMillis(100) : smaller;
  }

  private static String summary(AutomationDeploymentStatus.AnalysisRun run) {
    return String.join(
        ", ",
        run.metrics.stream().map(m -> m.name + " " + CanaryAnalysis.number(m.value)).toList());
  }
}
