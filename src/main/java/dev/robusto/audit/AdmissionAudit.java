package dev.robusto.audit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SSLOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Who asked for a change: the chart's ValidatingWebhookConfiguration sends every create, update and
 * delete of Robusto's resources here, and each one that changes the resource's content is appended
 * to the audit chain under the requesting user ({@code kube:<username>}), the groups the API server
 * authenticated them with, and the hashes of the content before and after (metadata and status left
 * out: the operator's finalizers and status writes are not requests).
 *
 * <p>It has an HTTPS server of its own ({@code robusto.audit.webhook.port}, 9443 in the chart), so
 * the chart's NetworkPolicy can keep tenants' pods off it while they use the APIs: nothing tells
 * the API server's calls from another caller's, and what comes in here is sealed into the chain. It
 * answers at once and never refuses (the webhook also fails open, so a stopped operator never
 * blocks the cluster); it records afterwards, a bounded number at a time, and counts what it could
 * not record, for the chart's alert. A request that is not one the API server sends for these kinds
 * is counted as invalid and not recorded.
 */
@ApplicationScoped
public class AdmissionAudit {

  static final String ACTOR_PREFIX = "kube:";
  static final String PATH = "/admission/audit";
  static final Set<String> KINDS =
      Set.of("Tenant", "FeatureFlag", "AutomationBatch", "AutomationDeployment", "Merchant");
  private static final Set<String> NAMESPACED =
      Set.of("AutomationBatch", "AutomationDeployment", "Merchant");
  private static final Set<String> OPERATIONS = Set.of("CREATE", "UPDATE", "DELETE");

  /** An AdmissionReview larger than this is refused unread (a resource's is at most ~1.5 MiB). */
  static final int MAX_BODY = 3 * 1024 * 1024;

  private static final List<String> RESULTS =
      List.of("recorded", "unchanged", "repeated", "dry-run", "invalid", "failed", "dropped");
  private static final int MAX_NAME = 512;
  private static final int MAX_GROUPS = 64;
  private static final Logger LOG = Logger.getLogger(AdmissionAudit.class);

  private final AuditLog log;
  private final TenantDirectory tenants;
  private final MeterRegistry registry;
  private final Vertx vertx;
  private final int port;
  private final Optional<String> certFile;
  private final Optional<String> keyFile;
  // Records wait for their commit here, a few at a time; more than the queue holds are dropped
  // (and counted) rather than held in memory while PostgreSQL is away.
  private final ThreadPoolExecutor recorders =
      new ThreadPoolExecutor(
          2,
          2,
          0,
          TimeUnit.SECONDS,
          new ArrayBlockingQueue<>(1_000),
          r -> {
            var thread = new Thread(r, "admission-audit");
            thread.setDaemon(true);
            return thread;
          });
  // The API server calls a validating webhook again, with a new uid, when a write retries on a
  // conflict (a patch racing the operator's status write, say). A request equal to the last one
  // recorded for its resource within a minute is that retry, and is recorded once.
  private final Cache<String, AuditEntry> lastRecorded =
      Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(1)).build();
  private HttpServer server;

  AdmissionAudit(
      AuditLog log,
      TenantDirectory tenants,
      MeterRegistry registry,
      Vertx vertx,
      @ConfigProperty(name = "robusto.audit.webhook.port") int port,
      @ConfigProperty(name = "robusto.audit.webhook.cert-file") Optional<String> certFile,
      @ConfigProperty(name = "robusto.audit.webhook.key-file") Optional<String> keyFile) {
    this.log = log;
    this.tenants = tenants;
    this.registry = registry;
    this.vertx = vertx;
    this.port = port;
    this.certFile = certFile;
    this.keyFile = keyFile;
  }

  void start(@Observes StartupEvent event) throws Exception {
    // Served from the start at 0, so the alert sees the first failure as an increase.
    for (var result : RESULTS) {
      registry.counter("robusto.admission.audit.requests", "result", result);
    }
    if (port <= 0 || certFile.isEmpty() || keyFile.isEmpty()) {
      LOG.info("The audit webhook is off (robusto.audit.webhook.port, cert-file, key-file)");
      return;
    }
    var router = Router.router(vertx);
    router
        .post(PATH)
        .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY))
        .blockingHandler(this::review, false);
    var options = new HttpServerOptions().setSsl(true).setKeyCertOptions(keyCert()).setPort(port);
    server =
        vertx
            .createHttpServer(options)
            .requestHandler(router)
            .listen()
            .toCompletionStage()
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    LOG.infof("The audit webhook listens on https port %d%s", port, PATH);
  }

  void stop(@Observes ShutdownEvent event) throws InterruptedException {
    if (server != null) {
      server.close();
    }
    // What was answered is recorded before the audit log closes, or counted as dropped.
    recorders.shutdown();
    if (!recorders.awaitTermination(10, TimeUnit.SECONDS)) {
      var left = recorders.shutdownNow().size();
      registry.counter("robusto.admission.audit.requests", "result", "dropped").increment(left);
    }
  }

  /** A renewed certificate is served without a restart, as the main HTTPS port's is. */
  @Scheduled(every = "1h", delayed = "1h")
  void reloadCertificate() {
    if (server != null) {
      server.updateSSLOptions(new SSLOptions().setKeyCertOptions(keyCert()));
    }
  }

  private PemKeyCertOptions keyCert() {
    return new PemKeyCertOptions().setCertPath(certFile.get()).setKeyPath(keyFile.get());
  }

  private void review(RoutingContext context) {
    AdmissionReview review;
    try {
      review = Serialization.unmarshal(context.body().asString(), AdmissionReview.class);
    } catch (RuntimeException e) {
      review = null;
    }
    var request = review == null ? null : review.getRequest();
    if (request == null || request.getUid() == null) {
      count("invalid");
      context.response().setStatusCode(400).end("An AdmissionReview with a request is expected.");
      return;
    }
    var answer =
        new AdmissionReviewBuilder()
            .withApiVersion("admission.k8s.io/v1")
            .withKind("AdmissionReview")
            .withResponse(
                new AdmissionResponseBuilder().withUid(request.getUid()).withAllowed(true).build())
            .build();
    context
        .response()
        .putHeader("Content-Type", "application/json")
        .end(Serialization.asJson(answer));
    // Decided here, so what waits for PostgreSQL is the entry, not the request's two objects.
    if (Boolean.TRUE.equals(request.getDryRun())) {
      count("dry-run"); // nothing will change
      return;
    }
    var problem = invalid(request);
    if (problem != null) {
      LOG.warnf("An admission request not recorded: %s", problem);
      count("invalid");
      return;
    }
    var entry = entry(request);
    if (entry == null) {
      count("unchanged");
      return;
    }
    var namespace =
        NAMESPACED.contains(request.getKind().getKind()) ? request.getNamespace() : null;
    try {
      recorders.execute(() -> count(record(entry, namespace)));
    } catch (RejectedExecutionException e) {
      count("dropped");
    }
  }

  /**
   * Appends a change, its tenant found from {@code namespace} (null: none to find); returns what
   * became of it.
   */
  private String record(AuditEntry change, String namespace) {
    var entry =
        namespace == null
            ? change
            : new AuditEntry(
                change.actor(),
                change.action(),
                change.resource(),
                tenantOf(namespace),
                change.beforeHash(),
                change.afterHash(),
                change.actorGroups());
    var repeated = new boolean[1];
    lastRecorded
        .asMap()
        .compute(
            entry.resource(),
            (resource, last) -> {
              repeated[0] = entry.equals(last);
              return entry;
            });
    if (repeated[0]) {
      return "repeated";
    }
    try {
      log.append(List.of(entry), Duration.ofSeconds(30));
      return "recorded";
    } catch (RuntimeException e) {
      lastRecorded.asMap().remove(entry.resource(), entry); // a retry may still record it
      LOG.errorf(
          "Could not record %s of %s by %s in the audit trail: %s",
          entry.action(), entry.resource(), entry.actor(), e.getMessage());
      return "failed";
    }
  }

  /**
   * Why a request is not one the API server sends for Robusto's resources (this server's port is
   * not the API server's alone), or null: names and groups bounded and printable, so a forged one
   * can neither fill the chain with junk nor make the append it would share fail.
   */
  static String invalid(AdmissionRequest request) {
    var kind = request.getKind();
    if (kind == null || !"robusto.dev".equals(kind.getGroup()) || !KINDS.contains(kind.getKind())) {
      return "not a Robusto resource";
    }
    if (!OPERATIONS.contains(request.getOperation())) {
      return "operation " + printable(request.getOperation());
    }
    var user = request.getUserInfo();
    if (user == null || !name(user.getUsername())) {
      return "no username, or not a name";
    }
    var groups = user.getGroups() == null ? List.<String>of() : user.getGroups();
    if (groups.size() > MAX_GROUPS || !groups.stream().allMatch(AdmissionAudit::name)) {
      return "groups of " + printable(user.getUsername());
    }
    if (!name(name(request)) || request.getNamespace() != null && !name(request.getNamespace())) {
      return "resource name";
    }
    return null;
  }

  /** The chain entry for a valid request, or null when it changes no content. */
  AuditEntry entry(AdmissionRequest request) {
    var operation = request.getOperation().toLowerCase(Locale.ROOT);
    var before = state(request.getOldObject());
    var after = "delete".equals(operation) ? null : state(request.getObject());
    if ("update".equals(operation) && java.util.Objects.equals(before, after)) {
      return null;
    }
    var kind = request.getKind().getKind();
    var namespace = request.getNamespace();
    var name = name(request);
    var resource =
        namespace == null || namespace.isEmpty()
            ? kind + "/" + name
            : "%s/%s/%s".formatted(kind, namespace, name);
    var user = request.getUserInfo();
    var groups = new TreeSet<String>(user.getGroups() == null ? List.of() : user.getGroups());
    return new AuditEntry(
        ACTOR_PREFIX + user.getUsername(),
        operation,
        resource,
        "Tenant".equals(kind) ? name : null, // a namespaced one's: found when recorded
        AuditCanonical.stateHash(before),
        AuditCanonical.stateHash(after),
        Serialization.asJson(groups));
  }

  /** The request's resource name: on a create with generateName, the object's. */
  private static String name(AdmissionRequest request) {
    if (request.getName() != null && !request.getName().isEmpty()) {
      return request.getName();
    }
    var object = request.getObject();
    if (object instanceof io.fabric8.kubernetes.api.model.HasMetadata resource
        && resource.getMetadata() != null) {
      return resource.getMetadata().getName();
    }
    return null;
  }

  private static boolean name(String value) {
    return value != null
        && !value.isEmpty()
        && value.length() <= MAX_NAME
        && value.chars().noneMatch(Character::isISOControl);
  }

  private static String printable(String value) {
    return value == null ? "null" : value.replaceAll("\\p{Cntrl}", "?");
  }

  /** The tenant a namespace belongs to, if any. */
  private String tenantOf(String namespace) {
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
