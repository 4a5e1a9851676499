package dev.robusto.operator;

import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The Operator SDK tags its metrics with each resource's name, which is one time series per tenant
 * per metric: thousands of series at a thousand tenants. Dropping those tags keeps the metrics per
 * controller and kind, which is what dashboards and alerts use.
 */
@Singleton
public class MetricsCardinality {

  /** Micrometer tag keys; Prometheus shows "resource.name" as resource_name. */
  static final String[] PER_RESOURCE_TAGS = {
    "name", "namespace", "resource.name", "resource.namespace", "reconciliations.retries.number"
  };

  @Produces
  @Singleton
  MeterFilter dropPerResourceTags() {
    return MeterFilter.ignoreTags(PER_RESOURCE_TAGS);
  }
}
