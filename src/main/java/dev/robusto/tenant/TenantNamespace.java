package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import java.util.HashMap;

/**
 * The tenant's namespace, owned by the Tenant so deleting the Tenant deletes it and all inside.
 * Creation uses SSA with resourceVersion "1" (JOSDK's default), so an existing namespace is never
 * taken over: the create fails with a conflict, and {@link NamespaceGuard} explains why.
 */
@KubernetesDependent(informer = @Informer(labelSelector = TenantReconciler.MANAGED_SELECTOR))
public class TenantNamespace extends TenantChildResource<Namespace> {

  /** Pod Security level enforced in tenant namespaces: tenants run workers, not privileged pods. */
  static final String POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce";

  public TenantNamespace() {
    super(Namespace.class);
  }

  @Override
  protected Namespace desired(Tenant tenant, Context<Tenant> context) {
    var labels = new HashMap<>(tenant.childLabels());
    labels.put(POD_SECURITY_ENFORCE, "baseline");
    return new NamespaceBuilder()
        .withNewMetadata()
        .withName(tenant.namespaceName())
        .withLabels(labels)
        .endMetadata()
        .build();
  }
}
