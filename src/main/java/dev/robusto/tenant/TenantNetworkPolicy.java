package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.LabelSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeerBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/**
 * Ingress isolation: pods in the tenant namespace accept traffic from their own namespace and from
 * namespaces that belong to no tenant (ingress controllers, monitoring), never from another
 * tenant's. NetworkPolicies only allow, so "not another tenant" is a namespace selector on the
 * absence of the tenant label.
 */
@KubernetesDependent(informer = @Informer(labelSelector = TenantReconciler.MANAGED_SELECTOR))
public class TenantNetworkPolicy extends TenantChildResource<NetworkPolicy> {

  static final String NAME = "tenant-isolation";

  public TenantNetworkPolicy() {
    super(NetworkPolicy.class);
  }

  @Override
  protected NetworkPolicy desired(Tenant tenant, Context<Tenant> context) {
    var sameNamespace =
        new NetworkPolicyPeerBuilder().withNewPodSelector().endPodSelector().build();
    var nonTenantNamespaces =
        new NetworkPolicyPeerBuilder()
            .withNewNamespaceSelector()
            .withMatchExpressions(
                new LabelSelectorRequirementBuilder()
                    .withKey(Tenant.TENANT_LABEL)
                    .withOperator("DoesNotExist")
                    .build())
            .endNamespaceSelector()
            .build();
    return new NetworkPolicyBuilder()
        .withMetadata(childMetadata(tenant, NAME))
        .withNewSpec()
        .withNewPodSelector()
        .endPodSelector()
        .withPolicyTypes("Ingress")
        .addNewIngress()
        .withFrom(sameNamespace, nonTenantNamespaces)
        .endIngress()
        .endSpec()
        .build();
  }

  /** Reconcile precondition: with isolation off the policy is deleted. */
  public static class IsolationEnabled implements Condition<NetworkPolicy, Tenant> {
    @Override
    public boolean isMet(
        DependentResource<NetworkPolicy, Tenant> dependent, Tenant tenant, Context<Tenant> ctx) {
      return tenant.getSpec().enforcesIsolation();
    }
  }
}
