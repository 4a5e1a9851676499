package dev.robusto.tenant;

import dev.robusto.operator.KubeEvents;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Kubernetes Events for a Tenant, shown by {@code kubectl describe tenant}. Tenants are
 * cluster-scoped, so their events live in the {@code default} namespace, where kubectl looks.
 */
final class TenantEvents {

  static final String NORMAL = KubeEvents.NORMAL;
  static final String WARNING = KubeEvents.WARNING;
  private static final String EVENTS_NAMESPACE = "default";

  private TenantEvents() {}

  static void record(
      KubernetesClient client, Tenant tenant, String type, String reason, String message) {
    var involved =
        new ObjectReferenceBuilder()
            .withApiVersion(tenant.getApiVersion())
            .withKind(tenant.getKind())
            .withName(tenant.getMetadata().getName())
            .withUid(tenant.getMetadata().getUid())
            .build();
    KubeEvents.record(client, EVENTS_NAMESPACE, involved, type, reason, message);
  }
}
