package dev.robusto.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.deployment.AutomationDeploymentStatus.AnalysisRun;
import dev.robusto.deployment.AutomationDeploymentStatus.MetricResult;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import org.junit.jupiter.api.Test;

/** What a person reads of a fleet: phase, message and conditions for each stage of a rollout. */
class FleetStatusAggregatorTest {

  @Test
  void aStableRevisionWithAllItsReplicasReadyIsHealthy() {
    var status = stable(1, 4);
    FleetStatusAggregator.aggregate(fleet(4, null), null, status, true, null);
    assertThat(status.phase).isEqualTo(AutomationDeploymentStatus.Phase.HEALTHY);
    assertThat(status.message).isEqualTo("Revision 1 runs all 4 replicas.");
    assertThat(status.observedGeneration).isEqualTo(7L);
    assertThat(condition(status, "Ready"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"))
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("StableAvailable"));
    assertThat(condition(status, "Progressing").getReason()).isEqualTo("Idle");
    assertThat(status.conditions).noneMatch(c -> c.getType().equals("Stalled"));
  }

  @Test
  void aStableRevisionStillStartingIsProgressingAndNotReady() {
    var status = stable(1, 4);
    status.replicas.stableReady = 1;
    FleetStatusAggregator.aggregate(fleet(4, null), null, status, false, null);
    assertThat(status.phase).isEqualTo(AutomationDeploymentStatus.Phase.PROGRESSING);
    assertThat(condition(status, "Ready"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("False"))
        .satisfies(c -> assertThat(c.getMessage()).isEqualTo("Revision 1: 1 of 4 replicas ready."));
  }

  @Test
  void aCanaryTakingItsStepsSaysWhereItIs() {
    var status = canary(1, 2, 1, 4, 25);
    FleetStatusAggregator.aggregate(fleet(4, null), null, status, true, null);
    assertThat(status.phase).isEqualTo(AutomationDeploymentStatus.Phase.PROGRESSING);
    assertThat(status.message)
        .isEqualTo("Revision 2 at step 2 of 4, weight 25%; revision 1 stable.");
    assertThat(condition(status, "Progressing"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"))
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("CanarySteps"));
  }

  @Test
  void aHeldCanaryIsPausedWithTheReasonAndWhatToDo() {
    var status = canary(1, 2, 2, 4, 50);
    var hold =
        new FleetStatusAggregator.Wait(
            "AwaitingPromotion", "Paused at step 3 until promoted: kubectl annotate ...");
    FleetStatusAggregator.aggregate(fleet(4, null), null, status, true, hold);
    assertThat(status.phase).isEqualTo(AutomationDeploymentStatus.Phase.PAUSED);
    assertThat(status.message).isEqualTo(hold.message());
    assertThat(condition(status, "Progressing"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("False"))
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("AwaitingPromotion"));
    assertThat(condition(status, "Ready").getStatus())
        .as("the stable revision still serves")
        .isEqualTo("True");
  }

  @Test
  void aRolledBackRevisionLeavesTheFleetDegradedWithTheReason() {
    var status = stable(1, 4);
    status.abortedRevision = 2;
    status.abortReason = "error-rate of revision 2 was 0.412, over its threshold 0.200.";
    FleetStatusAggregator.aggregate(fleet(4, null), null, status, true, null);
    assertThat(status.phase).isEqualTo(AutomationDeploymentStatus.Phase.DEGRADED);
    assertThat(status.message).isEqualTo(status.abortReason);
    assertThat(condition(status, "Progressing").getReason()).isEqualTo("RolledBack");
    assertThat(condition(status, "Ready").getStatus()).isEqualTo("True");
    assertThat(condition(status, "Stalled"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"))
        .satisfies(
            c ->
                assertThat(c.getMessage())
                    .isEqualTo(
                        "Revision 2 is stopped (status.message says why) and is not tried again"
                            + " until spec.template or spec.processor changes, or"
                            + " robusto.dev/action=retry."));
  }

  @Test
  void aMetricThatOnlyWarnsRaisesMetricWarning() {
    var status = canary(1, 2, 1, 4, 25);
    var run = new AnalysisRun();
    run.revision = 2;
    var latency = new MetricResult();
    latency.name = "latency-p95";
    latency.value = 2600.0;
    latency.threshold = 2000.0;
    latency.verdict = AutomationDeploymentStatus.Verdict.BREACH;
    latency.breaches = 1;
    run.metrics.add(latency);
    status.lastAnalysis = run;
    FleetStatusAggregator.aggregate(fleet(4, null), null, status, true, null);
    assertThat(condition(status, "MetricWarning"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"))
        .satisfies(
            c ->
                assertThat(c.getMessage())
                    .isEqualTo("latency-p95 of revision 2 is 2600, over 2000."));
  }

  @Test
  void anUnchangedConditionKeepsItsTransitionTime() {
    var first = stable(1, 4);
    FleetStatusAggregator.aggregate(fleet(4, null), null, first, true, null);
    var since = "2026-01-01T00:00:00Z";
    first.conditions.forEach(c -> c.setLastTransitionTime(since));
    var again = stable(1, 4);
    FleetStatusAggregator.aggregate(fleet(4, first), first, again, true, null);
    assertThat(again.conditions)
        .allSatisfy(c -> assertThat(c.getLastTransitionTime()).isEqualTo(since));
  }

  @Test
  void aFleetOutsideAnyTenantIsDegradedAndNotReady() {
    var status = new AutomationDeploymentStatus();
    FleetStatusAggregator.blocked(
        fleet(2, null), status, "TenantNotFound", "Namespace x belongs to no Tenant.");
    assertThat(status.phase).isEqualTo(AutomationDeploymentStatus.Phase.DEGRADED);
    assertThat(condition(status, "Ready").getReason()).isEqualTo("TenantNotFound");
    assertThat(condition(status, "Progressing").getReason()).isEqualTo("TenantNotFound");
    assertThat(status.conditions)
        .as("a tenant's rows may follow its namespace by a moment")
        .noneMatch(c -> c.getType().equals("Stalled"));
  }

  @Test
  void aFailedReconcileKeepsWhereTheRolloutStandsAndSaysWhyItIsNotReady() {
    var healthy = canary(1, 2, 1, 4, 25);
    FleetStatusAggregator.aggregate(fleet(4, null), null, healthy, true, null);
    var forbidden =
        new io.fabric8.kubernetes.client.KubernetesClientException(
            new io.fabric8.kubernetes.api.model.StatusBuilder()
                .withCode(403)
                .withMessage("deployments.apps is forbidden: ...")
                .build());
    var failed = FleetStatusAggregator.failed(fleet(4, healthy), forbidden);
    assertThat(failed.phase).isEqualTo(AutomationDeploymentStatus.Phase.PROGRESSING);
    assertThat(failed.canaryRevision).isEqualTo(2);
    assertThat(condition(failed, "Ready"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("False"))
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("Forbidden"))
        .satisfies(
            c ->
                assertThat(c.getMessage())
                    .isEqualTo(
                        "Cannot reconcile (retried with backoff): HTTP 403 deployments.apps is forbidden: ..."));
    assertThat(condition(failed, "Progressing").getStatus()).isEqualTo("True");
    assertThat(failed.conditions).hasSize(3);
  }

  private static AutomationDeployment fleet(int replicas, AutomationDeploymentStatus current) {
    var fleet = new AutomationDeployment();
    fleet.setMetadata(
        new ObjectMetaBuilder().withName("portal").withNamespace("t").withGeneration(7L).build());
    fleet.setSpec(new AutomationDeploymentSpec());
    fleet.getSpec().replicas = replicas;
    fleet.setStatus(current);
    return fleet;
  }

  private static AutomationDeploymentStatus stable(int revision, int replicas) {
    var status = new AutomationDeploymentStatus();
    status.stableRevision = revision;
    status.replicas = new AutomationDeploymentStatus.Replicas();
    status.replicas.stable = replicas;
    status.replicas.stableReady = replicas;
    return status;
  }

  private static AutomationDeploymentStatus canary(
      int stable, int canary, int stepIndex, int steps, int weight) {
    var status = stable(stable, 4);
    status.canaryRevision = canary;
    status.currentStepIndex = stepIndex;
    status.steps = steps;
    status.canaryWeight = weight;
    return status;
  }

  private static Condition condition(AutomationDeploymentStatus status, String type) {
    return status.conditions.stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElseThrow();
  }
}
