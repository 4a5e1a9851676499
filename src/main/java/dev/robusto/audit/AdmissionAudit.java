package dev.robusto.audit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.robusto.api.KubeAuth;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.logging.Logger;

/**
 * Who asked for a change: the chart's ValidatingWebhookConfiguration sends every create, update and
 * delete of Robusto's resources here, and each one that changes the resource's content is appended
 * to the audit chain under the requesting user ({@code kube:<username>}), the groups the API server
 * authenticated them with, and the hashes of the content before and after (metadata and status left
 * out: the operator's finalizers and status writes are not requests).
 *
 * <p>It never refuses a request: the webhook fails open ({@code failurePolicy: Ignore}), so a
 * stopped operator never blocks the cluster, and a request it could not record is counted (here,
 * and by the API server's {@code apiserver_admission_webhook_fail_open_count}) for the chart's
 * alert. It answers over TLS only: the API server calls webhooks over HTTPS, and a claim that came
 * in plain text could have been changed on the way.
 */
@Path("/admission/audit")
public class AdmissionAudit {

  static final String ACTOR_PREFIX = "kube:";
  private static final Logger LOG = Logger.getLogger(AdmissionAudit.class);
  // The API server's own timeout for the webhook is 5 s (the chart's); waiting longer only holds
  // a worker thread while PostgreSQL is away.
  private static final Duration RECORD_TIMEOUT = Duration.ofSeconds(4);
  private static final Set<String> NAMESPACED =
      Set.of("AutomationBatch", "AutomationDeployment", "Merchant");

  private final AuditLog log;
  private final TenantDirectory tenants;
  private final MeterRegistry registry;
  // The API server calls a validating webhook again, with a new uid, when a write retries on a
  // conflict (a patch racing the operator's status write, say). The same user making the same
  // change from the same content within a minute is that retry, and is recorded once.
  private final Cache<AuditEntry, Boolean> recorded =
      Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(Duration.ofMinutes(1)).build();

  AdmissionAudit(AuditLog log, TenantDirectory tenants, MeterRegistry registry) {
    this.log = log;
    this.tenants = tenants;
    this.registry = registry;
  }

  @POST
  @Operation(hidden = true) // the API server's, not a client's
  @Consumes(MediaType.APPLICATION_JSON)
  @Produces(MediaType.APPLICATION_JSON)
  public AdmissionReview review(@Context HttpServerRequest http, AdmissionReview review) {
    if (!http.isSSL()) {
      throw KubeAuth.refuse(
          403, "The audit webhook answers over HTTPS only (the chart's https port).", null);
    }
    var request = review == null ? null : review.getRequest();
    if (request == null || request.getUid() == null) {
      throw KubeAuth.refuse(400, "An AdmissionReview with a request is expected.", "request");
    }
    count(record(request));
    return new AdmissionReviewBuilder()
        .withApiVersion("admission.k8s.io/v1")
        .withKind("AdmissionReview")
        .withResponse(
            new AdmissionResponseBuilder().withUid(request.getUid()).withAllowed(true).build())
        .build();
  }

  /** Appends the request to the chain if it changes something; returns what became of it. */
  private String record(AdmissionRequest request) {
    if (Boolean.TRUE.equals(request.getDryRun())) {
      return "dry-run"; // nothing will change
    }
    var entry = entry(request);
    if (entry == null) {
      return "unchanged";
    }
    if (recorded.asMap().putIfAbsent(entry, Boolean.TRUE) != null) {
      return "repeated";
    }
    try {
      log.append(List.of(entry), RECORD_TIMEOUT);
      return "recorded";
    } catch (RuntimeException e) {
      recorded.invalidate(entry); // a retry of the request may still record it
      LOG.errorf(
          "Could not record %s of %s by %s in the audit trail: %s",
          entry.action(), entry.resource(), entry.actor(), e.getMessage());
      return "failed";
    }
  }

  /** The chain entry for a request, or null when it changes no content. */
  AuditEntry entry(AdmissionRequest request) {
    var operation = request.getOperation().toLowerCase(Locale.ROOT);
    var before = state(request.getOldObject());
    var after = "delete".equals(operation) ? null : state(request.getObject());
    if ("update".equals(operation) && java.util.Objects.equals(before, after)) {
      return null;
    }
    var kind = request.getKind().getKind();
    var namespace = request.getNamespace();
    var resource =
        namespace == null || namespace.isEmpty()
            ? kind + "/" + request.getName()
            : "%s/%s/%s".formatted(kind, namespace, request.getName());
    var user = request.getUserInfo();
    var groups = new TreeSet<String>(user.getGroups() == null ? List.of() : user.getGroups());
    return new AuditEntry(
        ACTOR_PREFIX + user.getUsername(),
        operation,
        resource,
        tenantOf(kind, request.getName(), namespace),
        AuditCanonical.stateHash(before),
        AuditCanonical.stateHash(after),
        Serialization.asJson(groups));
  }

  /** The tenant a resource belongs to: a Tenant is its own, a namespaced one its namespace's. */
  private String tenantOf(String kind, String name, String namespace) {
    if ("Tenant".equals(kind)) {
      return name;
    }
    if (!NAMESPACED.contains(kind) || namespace == null) {
      return null;
    }
    try {
      return tenants.ofNamespace(namespace).map(TenantDirectory.Entry::tenantId).orElse(null);
    } catch (SQLException e) {
      LOG.warnf(
          "Tenant of namespace %s unknown for its audit entry: %s", namespace, e.getMessage());
      return null;
    }
  }

  /**
   * An object's content as {@link Auditor#state} has it (without metadata and status), as JSON with
   * every map's keys sorted, so the same content always hashes the same. Null for none.
   */
  @SuppressWarnings("unchecked")
  static String state(Object object) {
    if (object == null) {
      return null;
    }
    var content =
        new TreeMap<String, Object>(Serialization.jsonMapper().convertValue(object, Map.class));
    content.remove("metadata");
    content.remove("status");
    return Serialization.asJson(sorted(content));
  }

  @SuppressWarnings("unchecked")
  private static Object sorted(Object value) {
    if (value instanceof Map<?, ?> map) {
      var out = new TreeMap<String, Object>();
      map.forEach((k, v) -> out.put((String) k, sorted(v)));
      return out;
    }
    if (value instanceof List<?> list) {
      return list.stream().map(AdmissionAudit::sorted).toList();
    }
    return value;
  }

  private void count(String result) {
    registry.counter("robusto.admission.audit.requests", "result", result).increment();
  }
}
