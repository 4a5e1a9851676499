package dev.robusto.flag;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.robusto.operator.ConditionSchema;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the flag does now: how many tenants get each variant, and why it is off when it is. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class FeatureFlagStatus {
  @JsonPropertyDescription("The spec generation this status reflects.")
  public Long observedGeneration;

  @JsonPropertyDescription("Variant name to the number of tenants that evaluate to it.")
  public Map<String, Integer> tenantsPerVariant = new LinkedHashMap<>();

  @JsonPropertyDescription("When the evaluated answer last changed for any tenant (RFC 3339).")
  public String lastChange;

  @JsonPropertyDescription(
      "Why the flag is disabled, when it is (the kill switch, or the auto-disable that fired).")
  public String disabledReason;

  @JsonPropertyDescription(
      "Tenants the flag is off for alone (their own auto-disable or a fleet's rollback), with why;"
          + " from the flag's disabled-for.robusto.dev/<tenant> annotations.")
  public Map<String, String> disabledTenants;

  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription(ConditionSchema.DESCRIPTION)
  public List<Condition> conditions = new ArrayList<>();
}
