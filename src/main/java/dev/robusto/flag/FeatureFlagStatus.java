package dev.robusto.flag;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the flag does now: how many tenants get each variant, and why it is off when it is. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class FeatureFlagStatus {
  public Long observedGeneration;

  /** Variant name to the number of tenants that evaluate to it. */
  public Map<String, Integer> tenantsPerVariant = new LinkedHashMap<>();

  /** When the evaluated answer last changed for any tenant. */
  public String lastChange;

  /** Why the flag is disabled, when it is (kill switch, or the auto-disable that fired). */
  public String disabledReason;

  /**
   * Tenants the flag is off for alone (their own auto-disable or fleet rollback), with why; from
   * the flag's disabled-for.robusto.dev/&lt;tenant&gt; annotations.
   */
  public Map<String, String> disabledTenants;

  public List<Condition> conditions = new ArrayList<>();
}
