package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.ResourceQuota;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Matcher.Result;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The tenant's ResourceQuota: tier defaults with the spec's hard limits on top. */
@KubernetesDependent(informer = @Informer(labelSelector = TenantReconciler.MANAGED_SELECTOR))
public class TenantResourceQuota extends TenantChildResource<ResourceQuota> {

  static final String NAME = "tenant-quota";

  public TenantResourceQuota() {
    super(ResourceQuota.class);
  }

  @Override
  protected ResourceQuota desired(Tenant tenant, Context<Tenant> context) {
    return new ResourceQuotaBuilder()
        .withMetadata(childMetadata(tenant, NAME))
        .withNewSpec()
        .withHard(TenantReconciler.plan(context).quota())
        .endSpec()
        .build();
  }

  @Override
  public Result<ResourceQuota> match(
      ResourceQuota actual, ResourceQuota desired, Tenant tenant, Context<Tenant> context) {
    return Result.computed(
        Quantities.sameLabels(actual, desired)
            && Quantities.equal(actual.getSpec().getHard(), desired.getSpec().getHard()),
        desired);
  }
}
