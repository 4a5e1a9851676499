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
import dev.robusto.merchant.MerchantSpec;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.PayloadCipher;
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

  /** The most one bulk request's tickets may weigh, as JSON: a job is one Kubernetes object. */
  static final int MAX_BULK_BYTES = 1024 * 1024;

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

  /** The most v1 caller-and-endpoint rows a migration report lists (the busiest first). */
  static final int REPORT_ROWS = 10_000;

  /** A Kubernetes object name (RFC 1123 subdomain), as merchants and namespaces are. */
  private static final java.util.regex.Pattern NAME =
      java.util.regex.Pattern.compile("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final KubernetesClient client;
  private final BatchStore store;
  private final WorkQueue queue;
  private final TenantDirectory tenants;
  private final AuditLog audit;
  private final ApiCalls calls;
  private final dev.robusto.tenant.TenantUsageStore usage;
  private final AuthorizedCaller authorized;
  private io.fabric8.kubernetes.client.informers.SharedIndexInformer<Merchant> merchantCache;

  Invoicing(
      KubeAuth auth,
      CallerLimits limits,
      KubernetesClient client,
      BatchStore store,
      WorkQueue queue,
      TenantDirectory tenants,
      AuditLog audit,
      ApiCalls calls,
      dev.robusto.tenant.TenantUsageStore usage,
      AuthorizedCaller authorized) {
    this.auth = auth;
    this.limits = limits;
    this.client = client;
    this.store = store;
    this.queue = queue;
    this.tenants = tenants;
    this.audit = audit;
    this.calls = calls;
    this.usage = usage;
    this.authorized = authorized;
  }

  /** An authenticated caller, allowed {@code verb} on batches in its tenant's namespace. */
  record Caller(UserInfo info, String namespace) {

    String user() {
      return info.getUsername();
    }
  }

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
      Merchant merchant,
      List<WorkQueue.TicketStep> steps) {}

  /** A job (batch) with its ticket counts. */
  record Job(BatchStore.Listed batch, String state, WorkQueue.Counts counts) {}

  /** A page of jobs and the cursor of the next (null: last page). */
  record Jobs(List<Job> jobs, String next) {}

  Caller caller(String authorization, String namespace, String verb) {
    return caller(authorization, namespace, verb, RESOURCE);
  }

  /** The same, for {@code verb} on robusto.dev {@code resource}. */
  Caller caller(String authorization, String namespace, String verb, String resource) {
    var user = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.TICKETS, user.getUsername());
    var resolved = namespace == null || namespace.isBlank() ? ownNamespace(user) : namespace;
    if (!NAME.matcher(resolved).matches() || resolved.length() > 63) {
      throw KubeAuth.refuse(400, "namespace is a Kubernetes namespace name.", "namespace");
    }
    auth.allow(user, verb, resource, null, resolved);
    authorized.set(user.getUsername(), resolved);
    return new Caller(user, resolved);
  }

  /** A merchant to create: its name and its spec, as the Merchant resource takes it. */
  public record MerchantRequest(String name, MerchantSpec spec) {}

  /** The caller's merchants, by name. */
  List<Merchant> merchants(Caller caller) {
    return client
        .resources(Merchant.class)
        .inNamespace(caller.namespace())
        .list()
        .getItems()
        .stream()
        .sorted(java.util.Comparator.comparing(m -> m.getMetadata().getName()))
        .toList();
  }

  /** Creates a Merchant in the caller's namespace; the API server validates it. */
  Merchant createMerchant(Caller caller, MerchantRequest request) {
    if (request == null || request.name() == null || request.spec() == null) {
      throw KubeAuth.refuse(400, "Send {\"name\", \"spec\": {\"url\", ...}}.", "name");
    }
    var merchant = new Merchant();
    merchant.getMetadata().setName(request.name());
    merchant.getMetadata().setNamespace(caller.namespace());
    merchant.setSpec(request.spec());
    try {
      var created = client.resource(merchant).create();
      new Auditor(audit, "api:" + caller.user())
          .record(
              "create", "Merchant/" + caller.namespace() + "/" + request.name(), null, null, null);
      return created;
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() == 409) {
        throw KubeAuth.refuse(409, "Merchant %s exists already.".formatted(request.name()), "name");
      }
      if (e.getCode() == 422 || e.getCode() == 400) {
        var causes =
            e.getStatus() == null || e.getStatus().getDetails() == null
                ? null
                : e.getStatus().getDetails().getCauses();
        throw KubeAuth.refuse(
            422,
            e.getStatus() == null ? e.getMessage() : e.getStatus().getMessage(),
            causes == null || causes.isEmpty() ? null : causes.get(0).getField());
      }
      throw e;
    }
  }

  /** The tenant's figures now: today's admissions against its limits, the month's totals. */
  public record Usage(
      String tenant,
      @com.fasterxml.jackson.annotation.JsonProperty("admitted_today") int admittedToday,
      @com.fasterxml.jackson.annotation.JsonProperty("max_daily_jobs") int maxDailyJobs,
      int workers,
      @com.fasterxml.jackson.annotation.JsonProperty("max_concurrent_jobs") int maxConcurrentJobs,
      String month,
      @com.fasterxml.jackson.annotation.JsonProperty("month_succeeded") long monthSucceeded,
      @com.fasterxml.jackson.annotation.JsonProperty("month_failed") long monthFailed,
      @com.fasterxml.jackson.annotation.JsonProperty("month_dead_lettered") long monthDeadLettered,
      @com.fasterxml.jackson.annotation.JsonProperty("month_cost_mxn") String monthCostMxn) {}

  Usage usage(Caller caller, java.time.Clock clock) throws SQLException {
    var tenant = tenant(caller);
    var today = java.time.LocalDate.now(clock.withZone(java.time.ZoneOffset.UTC));
    var now = usage.now(tenant.tenantId(), today);
    var month = usage.month(tenant.tenantId(), java.time.YearMonth.from(today));
    return new Usage(
        tenant.tenantId(),
        now.admittedToday(),
        tenant.maxDailyJobs(),
        now.workers(),
        tenant.maxConcurrentJobs(),
        month.month().toString(),
        month.succeeded(),
        month.failed(),
        month.deadLettered(),
        month.costMxn().toPlainString());
  }

  /** Whether the platform answers for the caller's tenant: its database, its tenant row. */
  public record Health(String status, String tenant, String database) {}

  Health health(Caller caller) {
    try {
      return new Health("UP", tenant(caller).tenantId(), "UP");
    } catch (SQLException e) {
      return new Health("DOWN", null, "DOWN");
    }
  }

  private TenantDirectory.Entry tenant(Caller caller) throws SQLException {
    return tenants
        .ofNamespace(caller.namespace())
        .orElseThrow(
            () ->
                KubeAuth.refuse(
                    404, "Namespace %s belongs to no tenant.".formatted(caller.namespace())));
  }

  /**
   * Submits one ticket as a batch of its own, named from its id: the same id and ticket again
   * answer the same (replayed), the same id with another ticket is refused.
   */
  BatchSubmission.Outcome submit(Caller caller, TicketRequest ticket)
      throws JsonProcessingException, SQLException {
    if (ticket == null) {
      throw KubeAuth.refuse(
          400, "Send a ticket as the JSON body: {\"id\", \"merchant\", \"data\"}.", "body");
    }
    checkId(ticket.id(), "id");
    checkData(ticket.data(), "data");
    var spec = spec(caller, ticket.merchant(), ticket.priority());
    spec.items = List.of(item(ticket.id(), ticket.data()));
    refuseUsed(
        caller, BatchSubmission.name("ticket-", caller.namespace(), ticket.id()), spec, "id");
    return submitted(
        caller,
        BatchSubmission.submit(client, caller.namespace(), "ticket-", ticket.id(), spec, "id"));
  }

  /**
   * The ticket to submit, its id set by the request's Idempotency-Key header when one is sent (v2):
   * a ticket's id is its idempotency key, so the header stands for an id the body leaves out, and
   * must be the same as one it gives. It takes printable ASCII only: HTTP headers carry no charset,
   * so a non-ASCII id sent there could arrive as another ticket's.
   */
  static TicketRequest keyed(TicketRequest ticket, String idempotencyKey) {
    if (ticket == null || idempotencyKey == null) {
      return ticket;
    }
    checkId(idempotencyKey, "Idempotency-Key");
    if (!idempotencyKey.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
      throw KubeAuth.refuse(
          400,
          "Idempotency-Key takes printable ASCII only; send an id with other characters as the"
              + " body's id.",
          "Idempotency-Key");
    }
    if (ticket.id() == null) {
      return new TicketRequest(idempotencyKey, ticket.merchant(), ticket.priority(), ticket.data());
    }
    if (!ticket.id().equals(idempotencyKey)) {
      throw KubeAuth.refuse(
          400,
          "The Idempotency-Key header is not the ticket's id: a ticket's id is its idempotency key;"
              + " send the same value, or only one of them.",
          "Idempotency-Key");
    }
    return ticket;
  }

  /** Submits many tickets as one batch, under the request's Idempotency-Key. */
  BatchSubmission.Outcome submitBulk(Caller caller, String key, BulkRequest bulk)
      throws JsonProcessingException, SQLException {
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
    refuseUsed(
        caller, BatchSubmission.name("tickets-", caller.namespace(), key), spec, "tickets[%d].id");
    if (JSON.writeValueAsBytes(items).length > MAX_BULK_BYTES) {
      throw KubeAuth.refuse(
          413,
          "At most %d KiB of tickets a request (a job is one Kubernetes object); split them."
              .formatted(MAX_BULK_BYTES / 1024),
          "tickets");
    }
    return submitted(
        caller,
        BatchSubmission.submit(
            client, caller.namespace(), "tickets-", key, spec, "Idempotency-Key"));
  }

  /**
   * Submits a job: an AutomationBatch spec (priority, processor, parallelism, retries), under the
   * request's Idempotency-Key. A command processor needs its own permission, as at admission.
   */
  BatchSubmission.Outcome submitJob(Caller caller, String key, AutomationBatchSpec spec)
      throws JsonProcessingException, SQLException {
    if (key == null || key.isBlank() || key.length() > 255) {
      throw KubeAuth.refuse(
          400,
          "Send an Idempotency-Key header (1 to 255 characters) so a retry is not a copy.",
          "Idempotency-Key");
    }
    if (spec == null) {
      throw KubeAuth.refuse(400, "Send an AutomationBatch spec as the JSON body.", "body");
    }
    if (spec.processor != null && spec.processor.command != null) {
      auth.allow(caller.info(), "create", RESOURCE, "command", caller.namespace());
    }
    if (spec.items != null) {
      refuseUsed(
          caller, BatchSubmission.name("job-", caller.namespace(), key), spec, "items[%d].key");
    }
    return submitted(
        caller,
        BatchSubmission.submit(client, caller.namespace(), "job-", key, spec, "Idempotency-Key"));
  }

  /**
   * Carries out a job control (pause, resume, redrive) as a patch of its spec, audited; returns the
   * redrive generation asked for, or null.
   */
  Long control(Caller caller, String name, String control) {
    Long generation = null;
    switch (control) {
      case "pause" -> BatchControls.suspend(client, caller.namespace(), name, true);
      case "resume" -> BatchControls.suspend(client, caller.namespace(), name, false);
      default -> generation = BatchControls.redrive(client, caller.namespace(), name);
    }
    new Auditor(audit, "api:" + caller.user())
        .record(
            "update",
            "AutomationBatch/" + caller.namespace() + "/" + name,
            null,
            null,
            generation == null
                ? "suspend=" + control.equals("pause")
                : "redriveGeneration=" + generation);
    return generation;
  }

  /**
   * 422 naming the first ticket whose id the tenant used in another job: a used id is never queued
   * again, so accepting it would drop the ticket without a word. The job's own tickets (a retried
   * request) pass.
   */
  private void refuseUsed(Caller caller, String job, AutomationBatchSpec spec, String field)
      throws SQLException {
    var keys = spec.items.stream().map(i -> i.key).toList();
    var used = queue.usedKeys(caller.namespace(), keys);
    for (int i = 0; i < keys.size(); i++) {
      var other = used.get(keys.get(i));
      if (other != null && !other.equals(job)) {
        throw KubeAuth.refuse(
            422,
            "Ticket id %s was submitted already, in job %s; use a new id."
                .formatted(keys.get(i), other),
            field.contains("%d") ? field.formatted(i) : field);
      }
    }
  }

  /**
   * Cancels the caller's ticket {@code id} if no worker holds it: it ends cancelled (v1: fallido),
   * its id stays used. One submitted but not queued yet is refused with 409, to retry.
   */
  void cancel(Caller caller, String id) throws SQLException {
    var ticket = queue.ticket(caller.namespace(), id, false);
    if (ticket.isEmpty()) {
      var submitted =
          batch(caller.namespace(), BatchSubmission.name("ticket-", caller.namespace(), id));
      throw submitted == null
          ? KubeAuth.refuse(
              404,
              "Tenant of namespace %s has no ticket %s.".formatted(caller.namespace(), id),
              "id")
          : KubeAuth.refuse(
              409, "Ticket %s is not queued yet; retry in a few seconds.".formatted(id), "id");
    }
    var job = ticket.get().batch();
    var row =
        store
            .find(caller.namespace(), job)
            .orElseThrow(() -> KubeAuth.refuse(404, "Job %s is gone.".formatted(job), "id"));
    BatchControls.cancel(queue, audit, caller.user(), caller.namespace(), job, row.batchId(), id);
  }

  /** 404 unless the caller's tenant has job {@code name} queued. */
  void requireJob(Caller caller, String name) throws SQLException {
    if (store.find(caller.namespace(), name).isEmpty()) {
      throw KubeAuth.refuse(
          404,
          "No job %s in namespace %s (or it has not been queued yet)."
              .formatted(name, caller.namespace()),
          "id");
    }
  }

  /**
   * The caller's ticket with that id, live or finished, or one submitted but not queued yet; with
   * its attempts one by one when {@code withSteps}.
   */
  Found ticket(Caller caller, String id, boolean withSteps) throws SQLException {
    var live = queue.ticket(caller.namespace(), id, withSteps);
    if (live.isPresent()) {
      var ticket = live.get();
      return new Found(
          id,
          state(ticket.state(), ticket.suspended()),
          ticket.state(),
          ticket.batch(),
          ticket.priority(),
          ticket.attempts(),
          ticket.maxAttempts(),
          ticket.lastError(),
          ticket.createdAt(),
          ticket.updatedAt(),
          ticket.finishedAt(),
          merchant(caller.namespace(), merchantOf(caller.namespace(), ticket)),
          ticket.steps());
    }
    var tenant = tenant(caller);
    var submitted =
        batch(caller.namespace(), BatchSubmission.name("ticket-", caller.namespace(), id));
    if (submitted == null) {
      throw KubeAuth.refuse(
          404, "Tenant %s has no ticket %s.".formatted(tenant.tenantId(), id), "id");
    }
    var spec = submitted.getSpec();
    var created = Instant.parse(submitted.getMetadata().getCreationTimestamp());
    return new Found(
        id,
        "pendiente",
        "submitted",
        submitted.getMetadata().getName(),
        spec.priority.value(),
        0,
        spec.maxAttempts,
        null,
        created,
        created,
        null,
        merchant(
            caller.namespace(),
            spec.processor == null || spec.processor.http == null
                ? null
                : spec.processor.http.merchant),
        List.of());
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
    var listing = caller.namespace() + "|" + String.join(",", phases);
    var after = cursor == null || cursor.isBlank() ? null : decodeCursor(cursor, listing);
    var page = store.page(caller.namespace(), phases, after, limit + 1);
    var shown = page.subList(0, Math.min(limit, page.size()));
    var counts = queue.counts(shown.stream().map(BatchStore.Listed::batchId).toList());
    var jobs = new ArrayList<Job>();
    for (var batch : shown) {
      jobs.add(new Job(batch, stateOfPhase(batch.phase()), counts.get(batch.batchId())));
    }
    var next =
        page.size() > limit
            ? encodeCursor(listing, jobs.get(jobs.size() - 1).batch().name())
            : null;
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
      @com.fasterxml.jackson.annotation.JsonProperty("v1_callers") List<V1Caller> v1Callers,
      @com.fasterxml.jackson.annotation.JsonProperty("v1_callers_truncated") boolean truncated) {}

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
    var totals = calls.totals(first, last);
    var rows = calls.callers("v1", first, last, REPORT_ROWS + 1);
    var truncated = rows.size() > REPORT_ROWS;
    var callers = new java.util.LinkedHashMap<String, V1Caller>();
    for (var row : rows.subList(0, Math.min(REPORT_ROWS, rows.size()))) {
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
    return new MigrationReport(
        first.toString(),
        last.toString(),
        totals.getOrDefault("v1", 0L),
        totals.getOrDefault("v2", 0L),
        sorted,
        truncated);
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
    if (!NAME.matcher(merchant).matches() || merchant.length() > 253) {
      throw KubeAuth.refuse(
          400, "merchant is a Merchant's name (kubectl get merchants).", "merchant");
    }
    if (cachedMerchant(caller.namespace(), merchant) == null) {
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
    if (PayloadCipher.reserved(data)) {
      throw KubeAuth.refuse(
          400,
          "A ticket's data may not have the field %s (it marks an encrypted payload); rename it."
              .formatted(PayloadCipher.FIELD),
          field);
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

  /**
   * The merchant a ticket went to, from a cache of the cluster's Merchants (a read of a ticket asks
   * the API server nothing); one the cache has not seen is read, one since deleted keeps its name.
   */
  private Merchant merchant(String namespace, String name) {
    if (name == null) {
      return null;
    }
    var merchant = cachedMerchant(namespace, name);
    if (merchant == null) {
      merchant = new Merchant();
      merchant.getMetadata().setName(name);
    }
    return merchant;
  }

  /**
   * The merchant a ticket's batch names: kept with the batch (V16), or, for a batch queued before,
   * read from the batch itself.
   */
  private String merchantOf(String namespace, WorkQueue.Ticket ticket) {
    if (ticket.merchant() != null || ticket.batch() == null) {
      return ticket.merchant();
    }
    var batch = batch(namespace, ticket.batch());
    var http =
        batch == null || batch.getSpec().processor == null ? null : batch.getSpec().processor.http;
    return http == null ? null : http.merchant;
  }

  /** The Merchant from the cache, else from the API server (the cache may not have it yet). */
  private Merchant cachedMerchant(String namespace, String name) {
    var merchant = merchants().getStore().getByKey(namespace + "/" + name);
    return merchant != null
        ? merchant
        : client.resources(Merchant.class).inNamespace(namespace).withName(name).get();
  }

  private synchronized io.fabric8.kubernetes.client.informers.SharedIndexInformer<Merchant>
      merchants() {
    if (merchantCache == null) {
      merchantCache = client.resources(Merchant.class).inAnyNamespace().inform();
    }
    return merchantCache;
  }

  @jakarta.annotation.PreDestroy
  synchronized void stopCache() {
    if (merchantCache != null) {
      merchantCache.close();
    }
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

  /** A cursor: the listing it belongs to (namespace and filter) and the last job's name. */
  static String encodeCursor(String listing, String name) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString((listing + "\n" + name).getBytes(StandardCharsets.UTF_8));
  }

  /** The last job's name a cursor names, if it belongs to this listing; 400 otherwise. */
  static String decodeCursor(String cursor, String listing) {
    try {
      var decoded = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      var newline = decoded.indexOf('\n');
      if (newline > 0 && decoded.substring(0, newline).equals(listing)) {
        return decoded.substring(newline + 1);
      }
    } catch (IllegalArgumentException e) {
      // not base64: refused below
    }
    throw KubeAuth.refuse(
        400,
        "cursor is not one this listing gave (its next_cursor, with the same namespace and state);"
            + " start again without it.",
        "cursor");
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
