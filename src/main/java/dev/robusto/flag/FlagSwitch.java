package dev.robusto.flag;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.store.AuditCanonical;
import dev.robusto.store.AuditEntry;
import dev.robusto.store.AuditLog;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * Turns a flag off on the operator's own initiative (a metric breach, a rollback): spec.state
 * DISABLED, with annotations saying why for the flag's status, and an audit entry. Turning it back
 * on is a person's decision.
 */
public final class FlagSwitch {

  static final String AUTO_DISABLED_REASON = "robusto.dev/auto-disabled-reason";
  static final String AUTO_DISABLED_GENERATION = "robusto.dev/auto-disabled-generation";

  private static final ObjectMapper JSON = new ObjectMapper();

  private FlagSwitch() {}

  /** False when the flag does not exist or is already off. */
  public static boolean turnOff(
      KubernetesClient client, AuditLog audit, String actor, String name, String reason) {
    var flags = client.resources(FeatureFlag.class).withName(name);
    var flag = flags.get();
    if (flag == null || flag.getSpec().state == FeatureFlagSpec.State.DISABLED) {
      return false;
    }
    String quoted;
    try {
      quoted = JSON.writeValueAsString(reason);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    var patch =
        "{\"metadata\": {\"resourceVersion\": \"%s\", \"annotations\": {\"%s\": %s, \"%s\": \"%d\"}},"
                .formatted(
                    flag.getMetadata().getResourceVersion(),
                    AUTO_DISABLED_REASON,
                    quoted,
                    AUTO_DISABLED_GENERATION,
                    flag.getMetadata().getGeneration() + 1)
            + " \"spec\": {\"state\": \"DISABLED\"}}";
    flags.patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    audit.append(
        new AuditEntry(
            actor,
            "update",
            "FeatureFlag/" + name,
            null,
            AuditCanonical.stateHash("state=ENABLED"),
            AuditCanonical.stateHash("state=DISABLED")));
    return true;
  }
}
