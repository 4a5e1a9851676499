package dev.robusto.flag;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.robusto.tenant.Tenant;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tenant's resolved flags, in its namespace, as ConfigMap {@code robusto-flags} key {@code
 * flags.json} in flagd's flag-definition format: each flag with the tenant's variant as its default
 * and its state, so flagd, or an OpenFeature in-process provider, serves the tenant its own
 * answers.
 */
@KubernetesDependent(informer = @Informer(labelSelector = TenantFlagsReconciler.CONFIGMAP_SELECTOR))
public class TenantFlagsConfigMap extends CRUDKubernetesDependentResource<ConfigMap, Tenant> {

  static final String NAME = "robusto-flags";
  static final String KEY = "flags.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  public TenantFlagsConfigMap() {
    super(ConfigMap.class);
  }

  @Override
  protected ConfigMap desired(Tenant tenant, Context<Tenant> context) {
    var labels = new HashMap<>(tenant.childLabels());
    labels.put(TenantFlagsReconciler.COMPONENT_LABEL, TenantFlagsReconciler.COMPONENT);
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(NAME)
        .withNamespace(tenant.namespaceName())
        .withLabels(labels)
        .endMetadata()
        .withData(Map.of(KEY, flagdJson(TenantFlagsReconciler.evaluations(context))))
        .build();
  }

  @Override
  public ConfigMap create(ConfigMap desired, Tenant tenant, Context<Tenant> context) {
    var created = super.create(desired, tenant, context);
    TenantFlagsReconciler.recordWrite(context, "create", tenant, desired);
    return created;
  }

  @Override
  public ConfigMap update(
      ConfigMap actual, ConfigMap desired, Tenant tenant, Context<Tenant> context) {
    var updated = super.update(actual, desired, tenant, context);
    TenantFlagsReconciler.recordWrite(context, "update", tenant, desired);
    return updated;
  }

  /** flagd's format, one static flag per key; a killed flag is DISABLED there too. */
  static String flagdJson(List<TenantFlagsReconciler.Resolved> flags) {
    var root = JSON.createObjectNode();
    root.put("$schema", "https://flagd.dev/schema/v0/flags.json");
    ObjectNode all = root.putObject("flags");
    for (var flag : flags) {
      var node = all.putObject(flag.evaluation().key());
      var disabled = FlagEvaluation.DISABLED.equals(flag.evaluation().reason());
      node.put("state", disabled ? "DISABLED" : "ENABLED");
      var variants = node.putObject("variants");
      new java.util.TreeMap<>(flag.variants()).forEach(variants::set);
      node.put("defaultVariant", disabled ? flag.defaultVariant() : flag.evaluation().variant());
    }
    return root.toPrettyString();
  }
}
