package dev.robusto.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.batch.BatchStore;
import dev.robusto.batch.Priority;
import dev.robusto.merchant.Merchant;
import dev.robusto.merchant.MerchantRoute;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the ticket API does, whatever its version: a caller's tenant (the namespace of its
 * ServiceAccount, or the one it names), tickets submitted as batches of the platform (one ticket,
 * or many at once) and found by id, and the tenant's jobs (batches) by state, a page at a time. The
 * versions ({@link InvoicingV1}, {@link InvoicingV2}) only shape the answers.
 */
@ApplicationScoped
public class Invoicing {

  /** The most a ticket's data may weigh, as JSON. */
  static final int MAX_TICKET_BYTES = 64 * 1024;

  /** The most tickets one bulk request may carry. */
  static final int MAX_BULK_TICKETS = 500;

  /** The seeds' ticket and job states, from the platform's. */
  static final List<String> STATES =
      List.of("pendiente", "en_progreso", "completado", "fallido", "pausado");

  private static final Map<String, Set<String>> PHASES_OF_STATE =
      Map.of(
          "pendiente", Set.of("Pending", "Queued", "Throttled"),
          "en_progreso", Set.of("Running"),
          "completado", Set.of("Succeeded", "PartiallyFailed"),
          "fallido", Set.of("Failed"),
          "pausado", Set.of("Suspended"));

  private static final String RESOURCE = "automationbatches";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final KubernetesClient client;
  private final BatchStore store;
  private final WorkQueue queue;
  private final TenantDirectory tenants;
  private final AuditLog audit;
  private final ApiCalls calls;

  Invoicing(
      KubeAuth auth,
      CallerLimits limits,
      KubernetesClient client,
      BatchStore store,
      WorkQueue queue,
      TenantDirectory tenants,
      AuditLog audit,
      ApiCalls calls) {
    this.auth = auth;
    this.limits = limits;
    this.client = client;
    this.store = store;
    this.queue = queue;
    this.tenants = tenants;
    this.audit = audit;
    this.calls = calls;
  }

  /** An authenticated caller, allowed {@code verb} on batches in its tenant's namespace. */
  record Caller(String user, String namespace) {}

  /** A ticket to submit. */
  public record TicketRequest(String id, String merchant, String priority, JsonNode data) {}

  /** Many tickets for one merchant. */
  public record BulkRequest(String merchant, String priority, List<BulkTicket> tickets) {}

  /** One ticket of a bulk request. */
  public record BulkTicket(String id, JsonNode data) {}

  /** A ticket as the platform knows it: where it stands, and the batch and merchant it went to. */
  record Found(
      String id,
      String state,
      String outcome,
      String job,
      String priority,
      int attempts,
      int maxAttempts,
      String lastError,
      Instant createdAt,
      Instant updatedAt,
      Instant finishedAt,
      Merchant merchant) {}

  /** A job (batch) with its ticket counts. */
  record Job(BatchStore.Listed batch, String state, WorkQueue.Counts counts) {}

  /** A page of jobs and the cursor of the next (null: last page). */
  record Jobs(List<Job> jobs, String next) {}

  Caller caller(String authorization, String namespace, String verb) {
    var user = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.TICKETS, user.getUsername());
    var resolved = namespace == null || namespace.isBlank() ? ownNamespace(user) : namespace;
    auth.allow(user, verb, RESOURCE, null, resolved);
    return new Caller(user.getUsername(), resolved);
  }

  /**
   * Submits one ticket as a batch of its own, named from its id: the same id and ticket again
   * answer the same (replayed), the same id with another ticket is refused.
   */
  BatchSubmission.Outcome submit(Caller caller, TicketRequest ticket)
      throws JsonProcessingException {
    if (ticket == null) {
      throw KubeAuth.refuse(
          400, "Send a ticket as the JSON body: {\"id\", \"merchant\", \"data\"}.", "body");
    }
    checkId(ticket.id(), "id");
    checkData(ticket.data(), "data");
    var spec = spec(caller, ticket.merchant(), ticket.priority());
    spec.items = List.of(item(ticket.id(), ticket.data()));
    return submitted(
        caller,
        BatchSubmission.submit(client, caller.namespace(), "ticket-", ticket.id(), spec, "id"));
  }

  /** Submits many tickets as one batch, under the request's Idempotency-Key. */
  BatchSubmission.Outcome submitBulk(Caller caller, String key, BulkRequest bulk)
      throws JsonProcessingException {
    if (key == null || key.isBlank() || key.length() > 255) {
      throw KubeAuth.refuse(
          400,
          "Send an Idempotency-Key header (1 to 255 characters) so a retry is not a copy.",
          "Idempotency-Key");
    }
    if (bulk == null || bulk.tickets() == null || bulk.tickets().isEmpty()) {
      throw KubeAuth.refuse(
          400, "Send {\"merchant\", \"tickets\": [{\"id\", \"data\"}]}.", "tickets");
    }
    if (bulk.tickets().size() > MAX_BULK_TICKETS) {
      throw KubeAuth.refuse(
          413,
          "At most %d tickets a request; split the rest into more requests."
              .formatted(MAX_BULK_TICKETS),
          "tickets");
    }
    var spec = spec(caller, bulk.merchant(), bulk.priority());
    var items = new ArrayList<AutomationBatchSpec.Item>();
    var ids = new java.util.HashSet<String>();
    for (int i = 0; i < bulk.tickets().size(); i++) {
      var ticket = bulk.tickets().get(i);
      var field = "tickets[" + i + "]";
      if (ticket == null) {
        throw KubeAuth.refuse(400, "A ticket is {\"id\", \"data\"}.", field);
      }
      checkId(ticket.id(), field + ".id");
      checkData(ticket.data(), field + ".data");
      if (!ids.add(ticket.id())) {
        throw KubeAuth.refuse(
            400, "Ticket id %s appears twice.".formatted(ticket.id()), field + ".id");
      }
      items.add(item(ticket.id(), ticket.data()));
    }
    spec.items = items;
    return submitted(
        caller,
        BatchSubmission.submit(client, caller.namespace(), "bulk-", key, spec, "Idempotency-Key"));
  }

  /** The caller's ticket with that id, live or finished, or one submitted but not queued yet. */
  Found ticket(Caller caller, String id) throws SQLException {
    var tenant =
        tenants
            .ofNamespace(caller.namespace())
            .orElseThrow(
                () ->
                    KubeAuth.refuse(
                        404, "Namespace %s belongs to no tenant.".formatted(caller.namespace())));
    var live = queue.ticket(tenant.tenantId(), id);
    if (live.isEmpty()) {
      var submitted =
          batch(caller.namespace(), BatchSubmission.name("ticket-", caller.namespace(), id));
      if (submitted == null) {
        throw KubeAuth.refuse(
            404, "Tenant %s has no ticket %s.".formatted(tenant.tenantId(), id), "id");
      }
      var spec = submitted.getSpec();
      return new Found(
          id,
          "pendiente",
          "submitted",
          submitted.getMetadata().getName(),
          spec.priority.value(),
          0,
          spec.maxAttempts,
          null,
          Instant.parse(submitted.getMetadata().getCreationTimestamp()),
          Instant.parse(submitted.getMetadata().getCreationTimestamp()),
          null,
          merchant(caller.namespace(), submitted));
    }
    var ticket = live.get();
    var name = store.name(ticket.batchId()).orElse(null);
    AutomationBatch batch = name == null ? null : batch(caller.namespace(), name);
    var suspended = batch != null && Boolean.TRUE.equals(batch.getSpec().suspend);
    return new Found(
        id,
        state(ticket.state(), suspended),
        ticket.state(),
        name,
        batch == null ? null : batch.getSpec().priority.value(),
        ticket.attempts(),
        batch == null ? 0 : batch.getSpec().maxAttempts,
        ticket.lastError(),
        ticket.createdAt(),
        ticket.updatedAt(),
        ticket.finishedAt(),
        batch == null ? null : merchant(caller.namespace(), batch));
  }

  /**
   * The caller's jobs by name, {@code limit} a page after {@code cursor}, only those in the
   * comma-separated {@code states} when given.
   */
  Jobs jobs(Caller caller, String states, String cursor, int limit) throws SQLException {
    if (limit < 1 || limit > 500) {
      throw KubeAuth.refuse(400, "limit must be 1 to 500.", "limit");
    }
    var phases = new TreeSet<String>();
    if (states != null && !states.isBlank()) {
      for (var state : states.split(",")) {
        var wanted = PHASES_OF_STATE.get(state.strip().toLowerCase(Locale.ROOT));
        if (wanted == null) {
          throw KubeAuth.refuse(
              400,
              "Unknown state %s: state takes %s, comma-separated."
                  .formatted(state.strip(), String.join(", ", STATES)),
              "state");
        }
        phases.addAll(wanted);
      }
    }
    var after = cursor == null || cursor.isBlank() ? null : decodeCursor(cursor);
    var page = store.page(caller.namespace(), phases, after, limit + 1);
    var jobs = new ArrayList<Job>();
    for (var batch : page.subList(0, Math.min(limit, page.size()))) {
      jobs.add(new Job(batch, stateOfPhase(batch.phase()), queue.counts(batch.batchId())));
    }
    var next = page.size() > limit ? encodeCursor(jobs.get(jobs.size() - 1).batch().name()) : null;
    return new Jobs(jobs, next);
  }

  /** One caller of v1 over the report's period: its calls per endpoint. */
  public record V1Caller(
      String namespace,
      String caller,
      long calls,
      @com.fasterxml.jackson.annotation.JsonProperty("last_call_at") String lastCallAt,
      Map<String, Long> endpoints) {}

  /** Who still calls v1 and how much, against v2's calls, from {@code from} to {@code to}. */
  public record MigrationReport(
      String from,
      String to,
      @com.fasterxml.jackson.annotation.JsonProperty("v1_calls") long v1Calls,
      @com.fasterxml.jackson.annotation.JsonProperty("v2_calls") long v2Calls,
      @com.fasterxml.jackson.annotation.JsonProperty("v1_callers") List<V1Caller> v1Callers) {}

  /**
   * The migration report, for platform admins (get on apimigrationreports, cluster-wide): UTC days,
   * by default the last 30.
   */
  MigrationReport migrationReport(String authorization, String from, String to)
      throws SQLException {
    var user = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.USAGE, user.getUsername());
    auth.allow(user, "get", "apimigrationreports", null, null);
    var last = day(to, "to", java.time.LocalDate.now(java.time.ZoneOffset.UTC));
    var first = day(from, "from", last.minusDays(29));
    if (first.isAfter(last) || first.plusDays(366).isBefore(last)) {
      throw KubeAuth.refuse(400, "from must be on or before to, at most a year apart.", "from");
    }
    long v1 = 0;
    long v2 = 0;
    var callers = new java.util.LinkedHashMap<String, V1Caller>();
    for (var row : calls.between(first, last)) {
      if (row.version().equals("v2")) {
        v2 += row.calls();
        continue;
      }
      v1 += row.calls();
      var key = row.namespace() + "\n" + row.caller();
      var known = callers.get(key);
      var endpoints = known == null ? new java.util.TreeMap<String, Long>() : known.endpoints();
      endpoints.merge(row.endpoint(), row.calls(), Long::sum);
      var lastCall = row.lastCallAt().toString();
      callers.put(
          key,
          new V1Caller(
              row.namespace(),
              row.caller(),
              (known == null ? 0 : known.calls()) + row.calls(),
              known == null || known.lastCallAt().compareTo(lastCall) < 0
                  ? lastCall
                  : known.lastCallAt(),
              endpoints));
    }
    var sorted = new ArrayList<>(callers.values());
    sorted.sort(java.util.Comparator.comparingLong(V1Caller::calls).reversed());
    return new MigrationReport(first.toString(), last.toString(), v1, v2, sorted);
  }

  private static java.time.LocalDate day(
      String value, String field, java.time.LocalDate otherwise) {
    if (value == null || value.isBlank()) {
      return otherwise;
    }
    try {
      return java.time.LocalDate.parse(value);
    } catch (java.time.format.DateTimeParseException e) {
      throw KubeAuth.refuse(400, field + " is a UTC day, as 2026-12-01.", field);
    }
  }

  /** A ticket's state in the seeds' words. */
  static String state(String queueState, boolean suspended) {
    return switch (queueState) {
      case "held", "pending" -> suspended ? "pausado" : "pendiente";
      case "running" -> "en_progreso";
      case "succeeded" -> "completado";
      default -> "fallido"; // failed, dead_lettered, cancelled
    };
  }

  /** A job's state in the seeds' words, from its phase. */
  static String stateOfPhase(String phase) {
    return PHASES_OF_STATE.entrySet().stream()
        .filter(e -> e.getValue().contains(phase))
        .map(Map.Entry::getKey)
        .findFirst()
        .orElse("pendiente");
  }

  private BatchSubmission.Outcome submitted(Caller caller, BatchSubmission.Outcome outcome) {
    if (!outcome.replayed()) {
      new Auditor(audit, "api:" + caller.user())
          .record(
              "create",
              "AutomationBatch/" + caller.namespace() + "/" + outcome.name(),
              null,
              null,
              outcome.requestHash());
    }
    return outcome;
  }

  /** A batch's spec for tickets to {@code merchant}, which must exist in the namespace. */
  private AutomationBatchSpec spec(Caller caller, String merchant, String priority) {
    if (merchant == null || merchant.isBlank()) {
      throw KubeAuth.refuse(400, "Name the ticket's merchant (kubectl get merchants).", "merchant");
    }
    if (client.resources(Merchant.class).inNamespace(caller.namespace()).withName(merchant).get()
        == null) {
      throw KubeAuth.refuse(
          422,
          "No merchant %s in namespace %s; name one of kubectl get merchants -n %s."
              .formatted(merchant, caller.namespace(), caller.namespace()),
          "merchant");
    }
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.merchant = merchant;
    spec.parallelism = 1;
    if (priority != null) {
      spec.priority =
          java.util.Arrays.stream(Priority.values())
              .filter(p -> p.value().equals(priority))
              .findFirst()
              .orElseThrow(
                  () ->
                      KubeAuth.refuse(
                          400, "priority takes baja, normal, alta or urgente.", "priority"));
    }
    return spec;
  }

  private static void checkId(String id, String field) {
    if (id == null || id.isBlank() || id.length() > 255) {
      throw KubeAuth.refuse(
          400, "A ticket's id is 1 to 255 characters, unique within your tenant.", field);
    }
  }

  private static void checkData(JsonNode data, String field) {
    if (data == null) {
      return;
    }
    try {
      if (JSON.writeValueAsBytes(data).length > MAX_TICKET_BYTES) {
        throw KubeAuth.refuse(
            413,
            "A ticket's data is at most %d KiB as JSON; send the rest by reference."
                .formatted(MAX_TICKET_BYTES / 1024),
            field);
      }
    } catch (JsonProcessingException e) {
      throw KubeAuth.refuse(400, "data is not JSON.", field);
    }
  }

  private static AutomationBatchSpec.Item item(String id, JsonNode data) {
    var item = new AutomationBatchSpec.Item();
    item.key = id;
    item.payload = data;
    return item;
  }

  private AutomationBatch batch(String namespace, String name) {
    return client.resources(AutomationBatch.class).inNamespace(namespace).withName(name).get();
  }

  private Merchant merchant(String namespace, AutomationBatch batch) {
    var http = batch.getSpec().processor == null ? null : batch.getSpec().processor.http;
    if (http == null || http.merchant == null) {
      return null;
    }
    var merchant =
        client.resources(Merchant.class).inNamespace(namespace).withName(http.merchant).get();
    if (merchant == null) {
      // Gone since: its name is still the ticket's.
      merchant = new Merchant();
      merchant.getMetadata().setName(http.merchant);
    }
    return merchant;
  }

  /** A ServiceAccount's own namespace; anyone else names the tenant's. */
  private static String ownNamespace(UserInfo user) {
    var namespace = serviceAccountNamespace(user.getUsername());
    if (namespace == null) {
      throw KubeAuth.refuse(
          400, "Name your tenant's namespace: ?namespace=tenant-<name>.", "namespace");
    }
    return namespace;
  }

  /** The namespace of a ServiceAccount's user name, null for any other user. */
  static String serviceAccountNamespace(String username) {
    var prefix = "system:serviceaccount:";
    if (username != null && username.startsWith(prefix)) {
      var rest = username.substring(prefix.length());
      var colon = rest.indexOf(':');
      if (colon > 0) {
        return rest.substring(0, colon);
      }
    }
    return null;
  }

  static String encodeCursor(String name) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("after:" + name).getBytes(StandardCharsets.UTF_8));
  }

  static String decodeCursor(String cursor) {
    try {
      var decoded = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      if (decoded.startsWith("after:")) {
        return decoded.substring("after:".length());
      }
    } catch (IllegalArgumentException e) {
      // not base64: refused below
    }
    throw KubeAuth.refuse(
        400, "cursor is not one this API gave (next_cursor); start again without it.", "cursor");
  }

  /** Alternative URLs of a merchant, for v2's answers. */
  static List<String> alternativeUrls(Merchant merchant) {
    if (merchant == null || merchant.getSpec() == null) {
      return null;
    }
    var urls = MerchantRoute.urls(merchant.getSpec());
    return urls.subList(1, urls.size());
  }
}
