package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * Gives the tenant's owners the built-in {@code edit} ClusterRole in their namespace only: a
 * RoleBinding, never a ClusterRoleBinding.
 */
@KubernetesDependent(informer = @Informer(labelSelector = TenantReconciler.MANAGED_SELECTOR))
public class TenantOwnerRoleBinding extends TenantChildResource<RoleBinding> {

  static final String NAME = "tenant-owners";
  static final String OWNER_ROLE = "edit";

  public TenantOwnerRoleBinding() {
    super(RoleBinding.class);
  }

  @Override
  protected RoleBinding desired(Tenant tenant, Context<Tenant> context) {
    var subjects = tenant.getSpec().getOwners().stream().map(TenantOwnerRoleBinding::subject);
    return new RoleBindingBuilder()
        .withMetadata(childMetadata(tenant, NAME))
        .withNewRoleRef()
        .withApiGroup("rbac.authorization.k8s.io")
        .withKind("ClusterRole")
        .withName(OWNER_ROLE)
        .endRoleRef()
        .withSubjects(subjects.toList())
        .build();
  }

  private static Subject subject(TenantOwner owner) {
    var builder = new SubjectBuilder().withKind(owner.getKind().name()).withName(owner.getName());
    if (owner.getKind() == TenantOwner.Kind.ServiceAccount) {
      return builder.withNamespace(owner.getNamespace()).build();
    }
    return builder.withApiGroup("rbac.authorization.k8s.io").build();
  }
}
