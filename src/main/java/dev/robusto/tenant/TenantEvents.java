package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * Kubernetes Events for a Tenant, shown by {@code kubectl describe tenant}. Tenants are
 * cluster-scoped, so their events live in the {@code default} namespace, where kubectl looks. A
 * failed event write is logged, never allowed to fail a reconcile.
 */
final class TenantEvents {

  static final String NORMAL = "Normal";
  static final String WARNING = "Warning";
  private static final String EVENTS_NAMESPACE = "default";
  private static final String COMPONENT = "robusto-operator";
  private static final Logger LOG = Logger.getLogger(TenantEvents.class);

  private TenantEvents() {}

  static void record(
      KubernetesClient client, Tenant tenant, String type, String reason, String message) {
    var now = Instant.now().toString();
    var event =
        new EventBuilder()
            .withNewMetadata()
            .withNamespace(EVENTS_NAMESPACE)
            .withName(tenant.getMetadata().getName() + "." + Long.toHexString(System.nanoTime()))
            .endMetadata()
            .withInvolvedObject(
                new ObjectReferenceBuilder()
                    .withApiVersion(tenant.getApiVersion())
                    .withKind(tenant.getKind())
                    .withName(tenant.getMetadata().getName())
                    .withUid(tenant.getMetadata().getUid())
                    .build())
            .withType(type)
            .withReason(reason)
            .withMessage(message)
            .withNewSource()
            .withComponent(COMPONENT)
            .endSource()
            .withReportingComponent(COMPONENT)
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withCount(1)
            .build();
    try {
      client.v1().events().inNamespace(EVENTS_NAMESPACE).resource(event).create();
    } catch (KubernetesClientException e) {
      LOG.warnf(
          "Could not record event %s for Tenant %s: %s",
          reason, tenant.getMetadata().getName(), e.getMessage());
    }
  }
}
