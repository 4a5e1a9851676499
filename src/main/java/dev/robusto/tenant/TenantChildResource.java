package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import java.util.Objects;

/**
 * A child object of a Tenant. Writes that repair drift (a child deleted or edited by someone while
 * the spec did not change) are marked with an Event, so a person sees what the operator undid.
 * First provisioning and spec changes are reported once, by the Ready condition's transition.
 */
public abstract class TenantChildResource<R extends HasMetadata>
    extends CRUDKubernetesDependentResource<R, Tenant> {

  TenantChildResource(Class<R> type) {
    super(type);
  }

  /** Metadata of a child object in the tenant's namespace, labelled as the operator's. */
  static ObjectMeta childMetadata(Tenant tenant, String name) {
    return new ObjectMetaBuilder()
        .withName(name)
        .withNamespace(tenant.namespaceName())
        .withLabels(tenant.childLabels())
        .build();
  }

  @Override
  public R create(R desired, Tenant tenant, Context<Tenant> context) {
    var created = super.create(desired, tenant, context);
    if (specAlreadyProvisioned(tenant)) {
      repaired(context, tenant, "Recreated %s %s/%s, which had been deleted", desired);
    }
    return created;
  }

  @Override
  public R update(R actual, R desired, Tenant tenant, Context<Tenant> context) {
    var updated = super.update(actual, desired, tenant, context);
    if (specAlreadyProvisioned(tenant)) {
      repaired(context, tenant, "Restored %s %s/%s, which had been changed by hand", desired);
    }
    return updated;
  }

  /** The current spec was already provisioned, so this write undoes someone else's change. */
  private static boolean specAlreadyProvisioned(Tenant tenant) {
    var status = tenant.getStatus();
    return status != null
        && Objects.equals(status.getObservedGeneration(), tenant.getMetadata().getGeneration())
        && TenantStatusAggregator.isReady(status);
  }

  private static void repaired(
      Context<Tenant> context, Tenant tenant, String format, HasMetadata child) {
    var message =
        format.formatted(
            child.getKind(), child.getMetadata().getNamespace(), child.getMetadata().getName());
    TenantEvents.record(context.getClient(), tenant, TenantEvents.NORMAL, "DriftRepaired", message);
  }
}
