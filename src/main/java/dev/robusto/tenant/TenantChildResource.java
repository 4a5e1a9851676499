package dev.robusto.tenant;

import dev.robusto.audit.Auditor;
import dev.robusto.operator.KubeEvents;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import java.util.Objects;

/**
 * A child object of a Tenant. Every write is recorded in the audit log, with the states before and
 * after as hashes. Writes that repair drift (a child deleted or edited by someone while the spec
 * did not change) are also marked with an Event, so a person sees what the operator undid. First
 * provisioning and spec changes are reported once, by the Ready condition's transition.
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
    record(context, "create", tenant, desired, null, created);
    if (specAlreadyProvisioned(tenant)) {
      repaired(context, tenant, "Recreated %s %s/%s, which had been deleted", desired);
    }
    return created;
  }

  @Override
  public R update(R actual, R desired, Tenant tenant, Context<Tenant> context) {
    var updated = super.update(actual, desired, tenant, context);
    record(context, "update", tenant, desired, actual, updated);
    if (specAlreadyProvisioned(tenant)) {
      repaired(context, tenant, "Restored %s %s/%s, which had been changed by hand", desired);
    }
    return updated;
  }

  @Override
  protected void handleDelete(Tenant tenant, R secondary, Context<Tenant> context) {
    super.handleDelete(tenant, secondary, context);
    if (secondary != null) {
      record(context, "delete", tenant, secondary, secondary, null);
    }
  }

  private static void record(
      Context<Tenant> context,
      String action,
      Tenant tenant,
      HasMetadata target,
      HasMetadata before,
      HasMetadata after) {
    new Auditor(TenantReconciler.audit(context), TenantDatabaseSync.ACTOR)
        .record(
            action,
            Auditor.resource(target),
            tenant.getMetadata().getName(),
            Auditor.state(before),
            Auditor.state(after));
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
    KubeEvents.record(context.getClient(), tenant, KubeEvents.NORMAL, "DriftRepaired", message);
  }
}
