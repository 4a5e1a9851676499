package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.robusto.testing.ConfigFromProperties;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tier defaults from the operator's real application.properties, overridden by the spec. */
class TenantPlanTest {

  private final TenantDefaults defaults = ConfigFromProperties.mapping(TenantDefaults.class);

  @Test
  void tiersCarryThePlatformsLimits() {
    var enterprise =
        TenantPlan.resolve(TestTenants.tenant("a", Tier.ENTERPRISE, s -> {}), defaults);
    var startup = TenantPlan.resolve(TestTenants.tenant("b", Tier.STARTUP, s -> {}), defaults);
    assertThat(enterprise.limits()).isEqualTo(new TenantLimits(20, 1000, 6000));
    assertThat(startup.limits()).isEqualTo(new TenantLimits(3, 100, 600));
    assertThat(startup.namespace()).isEqualTo("tenant-b");
  }

  @Test
  void specValuesOverrideTheTierKeyByKey() {
    var plan =
        TenantPlan.resolve(
            TestTenants.tenant(
                "c",
                Tier.STARTUP,
                s -> {
                  s.setLimits(new TenantLimits(null, 50, null));
                  s.setResources(Map.of("pods", new Quantity("5"), "services", new Quantity("2")));
                  var limitRange = new LimitRangeSpec();
                  limitRange.setDefaultLimit(Map.of("cpu", new Quantity("1")));
                  s.setLimitRange(limitRange);
                }),
            defaults);
    assertThat(plan.limits()).isEqualTo(new TenantLimits(3, 50, 600));
    assertThat(plan.quota())
        .containsEntry("pods", new Quantity("5"))
        .containsEntry("services", new Quantity("2"))
        .containsEntry("cpu", new Quantity("4"));
    assertThat(plan.defaultLimit())
        .containsEntry("cpu", new Quantity("1"))
        .containsEntry("memory", new Quantity("512Mi"));
  }

  @Test
  void aSuspendedTenantMayStartNothing() {
    var plan =
        TenantPlan.resolve(
            TestTenants.tenant("d", Tier.ENTERPRISE, s -> s.setSuspended(true)), defaults);
    assertThat(plan.quota())
        .containsEntry("pods", new Quantity("0"))
        .containsEntry("count/jobs.batch", new Quantity("0"));
  }

  @Test
  void concurrencyAboveTheTiersDailyLimitIsExplained() {
    var tenant =
        TestTenants.tenant("e", Tier.STARTUP, s -> s.setLimits(new TenantLimits(500, null, null)));
    assertThatThrownBy(() -> TenantPlan.resolve(tenant, defaults))
        .isInstanceOf(InvalidTenantException.class)
        .hasMessageContaining(
            "maxConcurrentJobs (500) exceeds the daily limit (100, from tier startup)");
  }
}
