package dev.robusto.flag;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A flag's answer for one tenant, with the OpenFeature reason: DISABLED (kill switch, or turned off
 * for this tenant alone: no value, the caller's default applies), TARGETING_MATCH (a tenant
 * override), SPLIT (its rollout bucket) or STATIC (the default variant).
 */
public record FlagEvaluation(String key, String variant, JsonNode value, String reason) {

  public static final String DISABLED = "DISABLED";
  public static final String TARGETING_MATCH = "TARGETING_MATCH";
  public static final String SPLIT = "SPLIT";
  public static final String STATIC = "STATIC";

  public static FlagEvaluation of(FeatureFlag flag, String tenant) {
    var key = flag.getMetadata().getName();
    var spec = flag.getSpec();
    if (spec.state == FeatureFlagSpec.State.DISABLED
        || FlagSwitch.disabledFor(flag, tenant).isPresent()) {
      return new FlagEvaluation(key, null, null, DISABLED);
    }
    var override = spec.tenants == null ? null : spec.tenants.get(tenant);
    if (override != null) {
      return new FlagEvaluation(key, override, spec.variants.get(override), TARGETING_MATCH);
    }
    if (spec.rollout != null && !spec.rollout.isEmpty()) {
      var weights =
          spec.rollout.stream().map(w -> new Fractional.Weight(w.variant, w.weight)).toList();
      var variant = Fractional.variant(key, tenant, weights);
      if (variant != null) {
        return new FlagEvaluation(key, variant, spec.variants.get(variant), SPLIT);
      }
    }
    return new FlagEvaluation(
        key, spec.defaultVariant, spec.variants.get(spec.defaultVariant), STATIC);
  }

  /** What is wrong with a spec the schema accepted: unknown variants named, mistyped values. */
  public static List<String> specErrors(FeatureFlagSpec spec) {
    var errors = new ArrayList<String>();
    if (!spec.variants.containsKey(spec.defaultVariant)) {
      errors.add("defaultVariant '" + spec.defaultVariant + "' is not one of the variants");
    }
    if (spec.tenants != null) {
      spec.tenants.forEach(
          (tenant, variant) -> {
            if (!spec.variants.containsKey(variant)) {
              errors.add(
                  "tenant '" + tenant + "' is given '" + variant + "', not one of the variants");
            }
          });
    }
    if (spec.rollout != null) {
      for (var w : spec.rollout) {
        if (!spec.variants.containsKey(w.variant)) {
          errors.add("rollout names '" + w.variant + "', not one of the variants");
        }
      }
    }
    spec.variants.forEach(
        (name, value) -> {
          if (!matches(spec.type, value)) {
            errors.add("variant '" + name + "' is not a " + spec.type.value());
          }
        });
    return errors;
  }

  private static boolean matches(FeatureFlagSpec.Type type, JsonNode value) {
    return switch (type) {
      case BOOLEAN -> value.isBoolean();
      case STRING -> value.isTextual();
      case NUMBER -> value.isNumber();
      case OBJECT -> value.isObject();
    };
  }
}
