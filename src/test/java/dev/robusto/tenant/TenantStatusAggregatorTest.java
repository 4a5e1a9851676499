package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.operator.ReconcileErrors;
import dev.robusto.testing.ConfigFromProperties;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class TenantStatusAggregatorTest {

  private final TenantDefaults defaults = ConfigFromProperties.mapping(TenantDefaults.class);

  @Test
  void anUnchangedTenantGetsAnEqualStatusSoNothingIsWritten() {
    var tenant = TestTenants.tenant("same", Tier.STARTUP, s -> {});
    tenant.getMetadata().setGeneration(3L);
    var plan = TenantPlan.resolve(tenant, defaults);
    tenant.setStatus(TenantStatusAggregator.provisioned(tenant, plan, database(), null));

    var again = TenantStatusAggregator.provisioned(tenant, plan, database(), null);
    assertThat(again).isEqualTo(tenant.getStatus());
    assertThat(again.getConditions().get(0).getType()).isEqualTo("Ready");
    assertThat(again.getObservedGeneration()).isEqualTo(3L);
  }

  @Test
  void aConditionKeepsItsTransitionTimeUntilItsStatusChanges() {
    var tenant = TestTenants.tenant("flip", Tier.STARTUP, s -> {});
    var plan = TenantPlan.resolve(tenant, defaults);
    var ready = TenantStatusAggregator.provisioned(tenant, plan, database(), null);
    ready.getConditions().forEach(c -> c.setLastTransitionTime("2020-01-01T00:00:00Z"));
    tenant.setStatus(ready);

    var quotaFailed =
        TenantStatusAggregator.failed(
            tenant,
            plan,
            Map.of(TenantReconciler.QUOTA, apiError(422, "spec.hard[foo]: Invalid value")));
    assertThat(condition(quotaFailed, "NamespaceReady").getLastTransitionTime())
        .isEqualTo("2020-01-01T00:00:00Z");
    var quota = condition(quotaFailed, "QuotaReady");
    assertThat(quota.getLastTransitionTime()).isNotEqualTo("2020-01-01T00:00:00Z");
    assertThat(quota.getReason()).isEqualTo("Invalid");
    assertThat(quota.getMessage())
        .contains("HTTP 422 spec.hard[foo]: Invalid value")
        .contains("Fix the Tenant spec");
    assertThat(condition(quotaFailed, "Ready").getReason()).isEqualTo("Invalid");
  }

  @Test
  void errorsAreNamedForWhatHappened() {
    assertThat(ReconcileErrors.reason(apiError(500, "boom"))).isEqualTo("ApiServerError");
    assertThat(ReconcileErrors.reason(apiError(409, "modified"))).isEqualTo("ApiConflict");
    assertThat(ReconcileErrors.reason(apiError(403, "forbidden"))).isEqualTo("Forbidden");
    assertThat(ReconcileErrors.reason(apiError(429, "slow down"))).isEqualTo("ApiThrottled");
    assertThat(
            ReconcileErrors.reason(
                new KubernetesClientException("timed out", new TimeoutException())))
        .isEqualTo("ApiTimeout");
  }

  @Test
  void longApiMessagesAreCutSoStatusStaysSmall() {
    var tenant = TestTenants.tenant("long", Tier.STARTUP, s -> {});
    var plan = TenantPlan.resolve(tenant, defaults);
    var status =
        TenantStatusAggregator.failed(
            tenant, plan, Map.of(TenantReconciler.NAMESPACE, apiError(500, "x".repeat(5000))));
    assertThat(condition(status, "NamespaceReady").getMessage())
        .hasSize(ReconcileErrors.MAX_MESSAGE);
  }

  @Test
  void onlyWhatNeedsAPersonStallsTheTenant() {
    var tenant = TestTenants.tenant("stall", Tier.STARTUP, s -> {});
    var plan = TenantPlan.resolve(tenant, defaults);
    assertThat(TenantStatusAggregator.provisioned(tenant, plan, database(), null).getConditions())
        .noneMatch(c -> c.getType().equals("Stalled"));
    assertThat(
            TenantStatusAggregator.failed(
                    tenant, plan, Map.of(TenantReconciler.NAMESPACE, apiError(500, "boom")))
                .getConditions())
        .noneMatch(c -> c.getType().equals("Stalled"));

    var conflict =
        TenantStatusAggregator.conflict(
            tenant,
            plan,
            TenantStatusAggregator.NAMESPACE_CONFLICT,
            "Namespace x is not ours.",
            true);
    assertThat(condition(conflict, "Stalled").getStatus()).isEqualTo("True");
    assertThat(condition(conflict, "Stalled").getReason()).isEqualTo("NamespaceConflict");
    assertThat(condition(conflict, "Ready").getReason()).isEqualTo("NamespaceConflict");
    assertThat(
            TenantStatusAggregator.conflict(
                    tenant,
                    plan,
                    TenantStatusAggregator.NAMESPACE_CONFLICT,
                    "Namespace x is being deleted.",
                    false)
                .getConditions())
        .as("a namespace being deleted frees itself")
        .noneMatch(c -> c.getType().equals("Stalled"));

    var invalid = TenantStatusAggregator.invalidSpec(tenant, "Unknown tier gold.");
    assertThat(condition(invalid, "Stalled").getMessage()).isEqualTo("Unknown tier gold.");
    assertThat(condition(invalid, "Ready").getReason()).isEqualTo("InvalidSpec");
  }

  private static TenantDatabaseStatus database() {
    var database = new TenantDatabaseStatus();
    database.setRole("t_tenant_a");
    database.setSecret(TenantDatabaseSync.SECRET);
    return database;
  }

  private static KubernetesClientException apiError(int code, String message) {
    return new KubernetesClientException(
        new StatusBuilder().withCode(code).withMessage(message).build());
  }

  private static Condition condition(TenantStatus status, String type) {
    return status.getConditions().stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElseThrow();
  }
}
