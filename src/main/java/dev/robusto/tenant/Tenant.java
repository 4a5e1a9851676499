package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.Map;

/**
 * A tenant of the platform: its namespace, quotas, isolation, owners and job limits. Cluster-scoped
 * (it does not implement {@link Namespaced}) because it owns a namespace.
 */
@Group("robusto.dev")
@Version("v1alpha1")
@ShortNames("tn")
@AdditionalPrinterColumn(name = "Tier", jsonPath = ".spec.tier")
@AdditionalPrinterColumn(name = "Namespace", jsonPath = ".status.namespace")
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Reason",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason",
    priority = 1)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
@ValidationRule(
    value = "size(self.metadata.name) <= 56",
    message =
        "Tenant names are at most 56 characters, so that the default namespace 'tenant-<name>'"
            + " fits Kubernetes' 63-character limit")
public class Tenant extends CustomResource<TenantSpec, TenantStatus> {

  /** Label put on every object the operator creates for a tenant; its value is the tenant name. */
  public static final String TENANT_LABEL = "robusto.dev/tenant";

  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY = "robusto";

  /** Labels on every child object, so informers watch only what the operator manages. */
  public Map<String, String> childLabels() {
    return Map.of(TENANT_LABEL, getMetadata().getName(), MANAGED_BY_LABEL, MANAGED_BY);
  }

  /** The namespace this tenant lives in: the spec's, or {@code tenant-<name>}. */
  public String namespaceName() {
    var requested = getSpec() == null ? null : getSpec().getNamespace();
    return requested != null ? requested : "tenant-" + getMetadata().getName();
  }

  @Override
  @JsonPropertyDescription(
      "What the tenant gets: its tier and limits, its namespace, owners, quotas and billing.")
  public TenantSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "What the operator made of it: the namespace, the limits in force, the database role,"
          + " today's usage and conditions.")
  public TenantStatus getStatus() {
    return super.getStatus();
  }
}
