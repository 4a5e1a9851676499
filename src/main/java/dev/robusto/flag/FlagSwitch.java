package dev.robusto.flag;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * Turns a flag off on the operator's own initiative (a metric breach, a rollback), with an audit
 * entry. For every tenant: spec.state DISABLED, with annotations saying why. For one tenant: the
 * annotation disabled-for.robusto.dev/&lt;tenant&gt; holding why, which evaluation reads and no
 * GitOps sync of the spec undoes. Turning it back on is a person's decision (spec.state ENABLED, or
 * removing the annotation).
 */
public final class FlagSwitch {

  static final String AUTO_DISABLED_REASON = "robusto.dev/auto-disabled-reason";
  static final String AUTO_DISABLED_GENERATION = "robusto.dev/auto-disabled-generation";
  public static final String DISABLED_FOR = "disabled-for.robusto.dev/";

  private static final ObjectMapper JSON = new ObjectMapper();

  private FlagSwitch() {}

  /** Why the flag is off for {@code tenant} alone, when it is. */
  static java.util.Optional<String> disabledFor(FeatureFlag flag, String tenant) {
    var annotations = flag.getMetadata().getAnnotations();
    return java.util.Optional.ofNullable(
        annotations == null ? null : annotations.get(DISABLED_FOR + tenant));
  }

  /** Tenant to why, for every tenant the flag is off for alone. */
  static java.util.SortedMap<String, String> disabledTenants(FeatureFlag flag) {
    var tenants = new java.util.TreeMap<String, String>();
    var annotations = flag.getMetadata().getAnnotations();
    if (annotations != null) {
      annotations.forEach(
          (key, reason) -> {
            if (key.startsWith(DISABLED_FOR)) {
              tenants.put(key.substring(DISABLED_FOR.length()), reason);
            }
          });
    }
    return tenants;
  }

  /**
   * Turns the flag off for {@code tenant} alone. False when the flag does not exist or is already
   * off for it.
   */
  public static boolean turnOffFor(
      KubernetesClient client,
      AuditLog audit,
      String actor,
      String name,
      String tenant,
      String reason) {
    var flag = client.resources(FeatureFlag.class).withName(name).get();
    return flag != null && offFor(client, audit, actor, flag, tenant, reason);
  }

  private static boolean offFor(
      KubernetesClient client,
      AuditLog audit,
      String actor,
      FeatureFlag flag,
      String tenant,
      String reason) {
    var name = flag.getMetadata().getName();
    if (flag.getSpec().state == FeatureFlagSpec.State.DISABLED
        || disabledFor(flag, tenant).isPresent()) {
      return false;
    }
    // A merge patch of one annotation: it commutes with any other writer's, no version needed.
    client
        .resources(FeatureFlag.class)
        .withName(name)
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"metadata\": {\"annotations\": {%s: %s}}}"
                .formatted(json(DISABLED_FOR + tenant), json(reason)));
    new Auditor(audit, actor)
        .record(
            "update",
            "FeatureFlag/" + name,
            tenant,
            "tenant=" + tenant + ",state=ENABLED",
            "tenant=" + tenant + ",state=DISABLED");
    return true;
  }

  /**
   * A tenant's fleet rolled back: the flag goes off for that tenant alone, or for every tenant when
   * the flag lists the tenant in spec.killSwitchTenants. Says for whom, or empty when nothing
   * changed (no such flag, or already off).
   */
  public static java.util.Optional<String> turnOffOnRollback(
      KubernetesClient client,
      AuditLog audit,
      String actor,
      String name,
      String tenant,
      String reason) {
    var flag = client.resources(FeatureFlag.class).withName(name).get();
    if (flag == null) {
      return java.util.Optional.empty();
    }
    var everyone =
        flag.getSpec().killSwitchTenants != null
            && flag.getSpec().killSwitchTenants.contains(tenant);
    var changed =
        everyone
            ? off(client, audit, actor, flag, reason)
            : offFor(client, audit, actor, flag, tenant, reason);
    return changed
        ? java.util.Optional.of(everyone ? "every tenant" : "tenant " + tenant)
        : java.util.Optional.empty();
  }

  private static String json(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** False when the flag does not exist or is already off. */
  public static boolean turnOff(
      KubernetesClient client, AuditLog audit, String actor, String name, String reason) {
    var flag = client.resources(FeatureFlag.class).withName(name).get();
    return flag != null && off(client, audit, actor, flag, reason);
  }

  /** Off for everyone, unless it already is; the patch holds the version read (lost if stale). */
  private static boolean off(
      KubernetesClient client, AuditLog audit, String actor, FeatureFlag flag, String reason) {
    var name = flag.getMetadata().getName();
    if (flag.getSpec().state == FeatureFlagSpec.State.DISABLED) {
      return false;
    }
    var quoted = json(reason);
    var patch =
        "{\"metadata\": {\"resourceVersion\": \"%s\", \"annotations\": {\"%s\": %s, \"%s\": \"%d\"}},"
                .formatted(
                    flag.getMetadata().getResourceVersion(),
                    AUTO_DISABLED_REASON,
                    quoted,
                    AUTO_DISABLED_GENERATION,
                    flag.getMetadata().getGeneration() + 1)
            + " \"spec\": {\"state\": \"DISABLED\"}}";
    client
        .resources(FeatureFlag.class)
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    new Auditor(audit, actor)
        .record("update", "FeatureFlag/" + name, null, "state=ENABLED", "state=DISABLED");
    return true;
  }
}
