package dev.robusto.deployment;

import dev.robusto.deployment.AutomationDeploymentStatus.Phase;
import dev.robusto.operator.Conditions;
import dev.robusto.operator.StatusWrites;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * A fleet's phase, message and conditions (Ready, Progressing, MetricWarning, and Stalled while a
 * rolled-back revision waits for a person), from where the reconcile left its rollout in the
 * status: the one place that decides what a person reads.
 */
final class FleetStatusAggregator {

  private static final String ROLLED_BACK = "RolledBack";

  /** Why a rollout waits at its step: a condition reason, and a message that says what to do. */
  record Wait(String reason, String message) {}

  private FleetStatusAggregator() {}

  /**
   * Sets phase, message and conditions of {@code status}, which follows {@code previous} (null:
   * none). {@code stableReady}: the stable revision runs all the replicas it should, all ready;
   * {@code wait}: why the canary is held, or null.
   */
  static void aggregate(
      AutomationDeployment fleet,
      AutomationDeploymentStatus previous,
      AutomationDeploymentStatus status,
      boolean stableReady,
      Wait wait) {
    status.observedGeneration = fleet.getMetadata().getGeneration();
    String progressingReason;
    if (status.canaryRevision != null && wait != null) {
      status.phase = Phase.PAUSED;
      status.message = wait.message();
      progressingReason = wait.reason();
    } else if (status.canaryRevision != null) {
      status.phase = Phase.PROGRESSING;
      status.message =
          "Revision %d at step %d of %d, weight %d%%; revision %d stable."
              .formatted(
                  status.canaryRevision,
                  Math.min(status.currentStepIndex + 1, status.steps),
                  status.steps,
                  status.canaryWeight,
                  status.stableRevision);
      progressingReason = "CanarySteps";
    } else if (status.abortedRevision != null && status.abortReason != null) {
      status.phase = Phase.DEGRADED;
      status.message = status.abortReason;
      progressingReason = ROLLED_BACK;
    } else {
      status.phase = stableReady ? Phase.HEALTHY : Phase.PROGRESSING;
      status.message =
          stableReady
              ? "Revision %d runs all %d replicas."
                  .formatted(status.stableRevision, fleet.getSpec().replicas)
              : "Revision %d: %d of %d replicas ready."
                  .formatted(
                      status.stableRevision, status.replicas.stableReady, fleet.getSpec().replicas);
      progressingReason = "Idle";
    }
    status.conditions =
        conditions(
            fleet,
            previous,
            status,
            stableReady,
            stableReady ? "StableAvailable" : status.phase.toString(),
            stableReady ? "The stable revision has all its replicas ready." : status.message,
            status.canaryRevision != null && wait == null,
            progressingReason);
    if (status.phase == Phase.DEGRADED) {
      status.conditions.add(
          Conditions.of(
              previous == null ? null : previous.conditions,
              fleet.getMetadata().getGeneration(),
              Conditions.STALLED,
              true,
              ROLLED_BACK,
              ("Revision %d is stopped (status.message says why) and is not tried again until"
                      + " spec.template or spec.processor changes, or robusto.dev/action=retry.")
                  .formatted(status.abortedRevision)));
    }
  }

  /** A fleet that cannot run at all: Degraded and not Ready, the reason and what to do. */
  static void blocked(
      AutomationDeployment fleet,
      AutomationDeploymentStatus status,
      String reason,
      String message) {
    status.observedGeneration = fleet.getMetadata().getGeneration();
    status.phase = Phase.DEGRADED;
    status.message = message;
    // Not stalled: a tenant's database rows follow its namespace, so a fleet applied in the same
    // sync may see no tenant for a moment.
    status.conditions =
        conditions(fleet, fleet.getStatus(), status, false, reason, message, false, reason);
  }

  /**
   * The status after a reconcile that failed (API server, database, a name taken): everything as it
   * was, but not Ready, with the error; the framework retries with backoff.
   */
  static AutomationDeploymentStatus failed(AutomationDeployment fleet, Exception error) {
    var status =
        StatusWrites.copy(
            fleet.getStatus(), AutomationDeploymentStatus.class, AutomationDeploymentStatus::new);
    status.conditions =
        Conditions.notReady(status.conditions, fleet.getMetadata().getGeneration(), error);
    return status;
  }

  private static List<Condition> conditions(
      AutomationDeployment fleet,
      AutomationDeploymentStatus previousStatus,
      AutomationDeploymentStatus status,
      boolean ready,
      String readyReason,
      String readyMessage,
      boolean progressing,
      String progressingReason) {
    var previous = previousStatus == null ? null : previousStatus.conditions;
    var generation = fleet.getMetadata().getGeneration();
    var warning =
        status.lastAnalysis == null
            ? null
            : CanaryAnalysis.warning(fleet.getSpec(), status.lastAnalysis);
    var list = new ArrayList<Condition>();
    list.add(Conditions.of(previous, generation, "Ready", ready, readyReason, readyMessage));
    list.add(
        Conditions.of(
            previous, generation, "Progressing", progressing, progressingReason, status.message));
    list.add(
        Conditions.of(
            previous,
            generation,
            "MetricWarning",
            warning != null,
            warning != null ? "Breached" : "WithinThresholds",
            warning != null ? warning : "No metric that only warns is over its threshold."));
    return list;
  }
}
