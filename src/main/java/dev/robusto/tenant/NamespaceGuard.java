package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.Objects;
import java.util.Optional;

/**
 * Refuses to adopt a namespace this Tenant did not create. Multi-tenancy operators have shipped the
 * hole of taking over any namespace a tenant names, including another tenant's; here an existing
 * namespace without this Tenant as its controller is a conflict, reported, never touched.
 */
final class NamespaceGuard {

  private NamespaceGuard() {}

  /**
   * Why the tenant may not manage its namespace, saying what to fix; {@code passing}: the namespace
   * is being deleted, so the conflict ends by itself (a Tenant re-created, or renamed, in one
   * sync).
   */
  record Conflict(String message, boolean passing) {}

  /** The conflict, or empty when the tenant may manage its namespace. */
  static Optional<Conflict> conflict(Tenant tenant, Context<Tenant> context) {
    // The dependent's informer only holds namespaces controlled by a Tenant: no API call needed.
    if (context.getSecondaryResource(Namespace.class).isPresent()) {
      return Optional.empty();
    }
    var name = tenant.namespaceName();
    var existing = context.getClient().namespaces().withName(name).get();
    if (existing == null || controlledBy(existing, tenant)) {
      return Optional.empty();
    }
    if (existing.getMetadata().getDeletionTimestamp() != null) {
      return Optional.of(
          new Conflict(
              ("Namespace '%s' is being deleted; this Tenant creates it anew once it is gone.")
                  .formatted(name),
              true));
    }
    var owner =
        existing.getMetadata().getLabels() == null
            ? null
            : existing.getMetadata().getLabels().get(Tenant.TENANT_LABEL);
    if (owner != null && !owner.equals(tenant.getMetadata().getName())) {
      return Optional.of(
          new Conflict(
              "Namespace '%s' belongs to Tenant '%s'. Set spec.namespace to a namespace no other tenant uses."
                  .formatted(name, owner),
              false));
    }
    return Optional.of(
        new Conflict(
            ("Namespace '%s' already exists and was not created for this Tenant; Robusto never"
                    + " adopts existing namespaces. Set spec.namespace to a free name, or delete the"
                    + " namespace.")
                .formatted(name),
            false));
  }

  private static boolean controlledBy(Namespace namespace, Tenant tenant) {
    return namespace.getMetadata().getOwnerReferences().stream()
        .filter(ref -> Boolean.TRUE.equals(ref.getController()))
        .map(OwnerReference::getUid)
        .anyMatch(uid -> Objects.equals(uid, tenant.getMetadata().getUid()));
  }
}
