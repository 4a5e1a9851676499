package dev.robusto.flag;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a flag gives each tenant. That every variant named (default, overrides, rollout) exists and
 * that values have the flag's type is checked by the reconciler ({@link
 * FlagEvaluation#specErrors}): CEL cannot see into {@code variants}, whose values are schemaless.
 */
public class FeatureFlagSpec {

  @Required
  @JsonPropertyDescription("boolean, string, number or object: the type of every variant's value.")
  public Type type;

  @Required
  @Size(min = 1, max = 64)
  @JsonPropertyDescription("Variant name to value, e.g. {on: true, off: false}.")
  public Map<String, JsonNode> variants = new LinkedHashMap<>();

  @Required
  @JsonPropertyDescription("The variant of a tenant with no override and no rollout share.")
  public String defaultVariant;

  @Default("ENABLED")
  @JsonPropertyDescription(
      "ENABLED, or DISABLED: the kill switch. A disabled flag evaluates to no value, so every"
          + " caller falls back to its code default (OFREP reason DISABLED).")
  public State state = State.ENABLED;

  @Size(max = 5_000)
  @JsonPropertyDescription("Tenant name to variant, overriding rollout and default.")
  public Map<String, String> tenants = new LinkedHashMap<>();

  @Size(max = 64)
  @JsonPropertyDescription(
      "Weights across variants by tenant, assigned as flagd's fractional does (stable per tenant:"
          + " raising a share only adds tenants). Tenants without an override get their bucket's"
          + " variant.")
  public List<Weight> rollout;

  @JsonPropertyDescription(
      "Turn the flag off when a metric breaches its threshold: a built-in metric turns it off for"
          + " each tenant whose own tickets breach; a prometheus query for every tenant.")
  public AutoDisable autoDisable;

  @Size(max = 100)
  @JsonPropertyDescription(
      "Tenants whose fleet rollbacks (onRollback.disableFlags) may turn this flag off for every"
          + " tenant (spec.state DISABLED). Any other tenant's rollback turns it off for that"
          + " tenant only.")
  public List<String> killSwitchTenants;

  /** The type of the values. */
  public enum Type {
    BOOLEAN,
    STRING,
    NUMBER,
    OBJECT;

    @JsonValue
    public String value() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The kill switch. */
  public enum State {
    ENABLED,
    DISABLED
  }

  /** One variant's share of the rollout. */
  public static class Weight {
    @Required
    @JsonPropertyDescription("A variant named in variants.")
    public String variant;

    @Required
    @Min(0)
    @Max(100_000)
    @JsonPropertyDescription(
        "Its share: this weight over the sum of all weights, tenants assigned by a stable hash.")
    public Integer weight;
  }

  /** When to turn the flag off on its own; turning it back on is a person's decision. */
  @ValidationRule(
      value = "self.metric == 'prometheus' ? has(self.query) : !has(self.query)",
      message = "query is required with metric prometheus, and only with it")
  public static class AutoDisable {
    @Required
    @Pattern("^(batchFailureRate|deadLetterRate|prometheus)$")
    @JsonPropertyDescription(
        "batchFailureRate: failed and dead-lettered tickets over finished ones; deadLetterRate:"
            + " dead-lettered over finished; both over the window, judged for each tenant on its"
            + " own tickets (one tenant's failures never turn the flag off for another)."
            + " prometheus: the value of query, from the Prometheus the operator is given.")
    public String metric;

    @Size(min = 1, max = 4_096)
    @JsonPropertyDescription(
        "PromQL returning one number (a scalar or a single series), e.g."
            + " sum(rate(portal_errors_total[5m])) / sum(rate(portal_requests_total[5m])). The"
            + " window and minSamples are the query's business.")
    public String query;

    @Required
    @Min(0)
    @JsonPropertyDescription("The flag is disabled when the metric exceeds this (0.05 = 5 %).")
    public Double threshold;

    @Pattern("^([0-9]+(s|m|h))+$")
    @Default("5m")
    @JsonPropertyDescription(
        "How far back batchFailureRate and deadLetterRate look, as a duration (5m, 1h).")
    public String window = "5m";

    @Min(1)
    @Default("20")
    @JsonPropertyDescription("Finished tickets needed in the window before the metric counts.")
    public Integer minSamples = 20;
  }
}
