package dev.robusto.tenant;

import dev.robusto.worker.WorkerMain;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a Tenant resolves to once the operator's tier defaults are applied: the numbers the
 * dependents write and the status reports. Pure, so it is tested without a cluster.
 */
public record TenantPlan(
    String namespace,
    TenantLimits limits,
    Map<String, Quantity> quota,
    Map<String, Quantity> defaultRequest,
    Map<String, Quantity> defaultLimit,
    Map<String, Quantity> maxLimit,
    // Its batch workers' pools at the concurrency cap, plus the tier's room for fleet workers.
    int databaseConnections,
    // In PostgreSQL's numeric(12, 4), so the plan and the stored row compare equal.
    BigDecimal pricePerTicketMxn) {

  /** Quota keys forced to zero while a tenant is suspended: nothing new may start. */
  static final String[] SUSPENDED_QUOTA_KEYS = {"pods", "count/jobs.batch"};

  public static TenantPlan resolve(Tenant tenant, TenantDefaults defaults) {
    var spec = tenant.getSpec();
    var tier = defaults.tiers().get(spec.getTier().value());
    if (tier == null) {
      throw new InvalidTenantException(
          "The operator has no defaults for tier '"
              + spec.getTier()
              + "': set robusto.tenant.tiers."
              + spec.getTier()
              + ".* (Helm value tiers."
              + spec.getTier()
              + ")");
    }
    var requested = spec.getLimits() == null ? new TenantLimits() : spec.getLimits();
    var limits =
        new TenantLimits(
            orDefault(requested.getMaxConcurrentJobs(), tier.maxConcurrentJobs()),
            orDefault(requested.getMaxDailyJobs(), tier.maxDailyJobs()),
            orDefault(requested.getRequestsPerMinute(), tier.requestsPerMinute()));

    if (limits.getMaxConcurrentJobs() > limits.getMaxDailyJobs()) {
      throw new InvalidTenantException(
          "limits.maxConcurrentJobs (%d) exceeds the daily limit (%d, from %s): lower it or set limits.maxDailyJobs"
              .formatted(
                  limits.getMaxConcurrentJobs(),
                  limits.getMaxDailyJobs(),
                  requested.getMaxDailyJobs() == null ? "tier " + spec.getTier() : "the spec"));
    }
    var quota = overlay(tier.resources(), spec.getResources());
    if (spec.suspendedNow()) {
      for (var key : SUSPENDED_QUOTA_KEYS) {
        quota.put(key, new Quantity("0"));
      }
    }
    var limitRange = spec.getLimitRange() == null ? new LimitRangeSpec() : spec.getLimitRange();
    return new TenantPlan(
        tenant.namespaceName(),
        limits,
        quota,
        overlay(defaults.defaultRequest(), limitRange.getDefaultRequest()),
        overlay(defaults.defaultLimit(), limitRange.getDefaultLimit()),
        new TreeMap<>(limitRange.getMax()),
        limits.getMaxConcurrentJobs() * WorkerMain.CONNECTIONS + tier.databaseConnections(),
        price(spec, tier.pricePerTicketMxn()));
  }

  private static BigDecimal price(TenantSpec spec, BigDecimal tierPrice) {
    var billing = spec.getBilling();
    if (billing != null && billing.getPricePerTicketMxn() != null) {
      // The CRD's pattern allows 4 decimals at most.
      return new BigDecimal(billing.getPricePerTicketMxn())
          .setScale(TenantBilling.PRICE_SCALE, RoundingMode.UNNECESSARY);
    }
    if (tierPrice.signum() < 0
        || tierPrice.stripTrailingZeros().scale() > TenantBilling.PRICE_SCALE) {
      throw new InvalidTenantException(
          "The operator's price for tier '%s' (%s) is not a price in MXN with at most %d decimals:"
                  .formatted(spec.getTier(), tierPrice.toPlainString(), TenantBilling.PRICE_SCALE)
              + " fix Helm value tiers.%s.pricePerTicketMxn".formatted(spec.getTier()));
    }
    return tierPrice.setScale(TenantBilling.PRICE_SCALE, RoundingMode.UNNECESSARY);
  }

  private static int orDefault(Integer value, int fallback) {
    return value != null ? value : fallback;
  }

  /** Defaults from the operator's config with the spec's entries on top, in a stable order. */
  private static Map<String, Quantity> overlay(
      Map<String, String> defaults, Map<String, Quantity> overrides) {
    var merged = new TreeMap<String, Quantity>();
    defaults.forEach((key, value) -> merged.put(key, new Quantity(value)));
    merged.putAll(overrides);
    return merged;
  }
}
