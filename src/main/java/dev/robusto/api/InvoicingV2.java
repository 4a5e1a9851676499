package dev.robusto.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.queue.WorkQueue;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.Sse;
import jakarta.ws.rs.sse.SseEventSink;
import java.sql.SQLException;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The ticket API's second version: every field of v1's answers (the same names, the same values),
 * and more: a ticket's attempts, last error, outcome, job and its merchant's settings; jobs with
 * every count, filtered by state and paged with a cursor; many tickets in one request.
 */
@Path("/invoicing/v2")
@Produces(MediaType.APPLICATION_JSON)
public class InvoicingV2 {

  private final Invoicing invoicing;
  private final BatchEvents events;
  private final java.time.Clock clock;

  InvoicingV2(Invoicing invoicing, BatchEvents events, java.time.Clock clock) {
    this.invoicing = invoicing;
    this.events = events;
    this.clock = clock;
  }

  /** A ticket as v2 shows it: v1's fields, then its own. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @Schema(name = "TicketV2")
  public record Ticket(
      @JsonUnwrapped InvoicingV1.Ticket v1,
      String outcome,
      int attempts,
      @JsonProperty("max_attempts") int maxAttempts,
      @JsonProperty("last_error") String lastError,
      String job,
      @JsonProperty("finished_at") String finishedAt,
      @JsonProperty("captcha_solving") Boolean captchaSolving,
      @JsonProperty("alternative_urls") List<String> alternativeUrls,
      @JsonProperty("automation_steps") List<AutomationStep> automationSteps) {

    static Ticket of(Invoicing.Found t) {
      var merchant = t.merchant() == null ? null : t.merchant().getSpec();
      return new Ticket(
          InvoicingV1.Ticket.of(t),
          t.outcome(),
          t.attempts(),
          t.maxAttempts(),
          t.lastError(),
          t.job(),
          t.finishedAt() == null ? null : t.finishedAt().toString(),
          merchant == null ? null : merchant.captchaSolving,
          Invoicing.alternativeUrls(t.merchant()),
          t.steps().stream().map(AutomationStep::of).toList());
    }
  }

  /**
   * One attempt at a ticket, as its worker measured it: {@code result} succeeded, failed (retried
   * or dead-lettered as the attempts allow) or refused (the portal refused it for good). A redriven
   * ticket's attempts count from 1 again.
   */
  @Schema(name = "AutomationStepV2")
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record AutomationStep(
      int attempt,
      @JsonProperty("started_at") String startedAt,
      @JsonProperty("duration_ms") long durationMs,
      String result,
      String detail) {

    static AutomationStep of(WorkQueue.TicketStep step) {
      return new AutomationStep(
          step.attempt(),
          step.startedAt().toString(),
          step.durationMs(),
          step.outcome(),
          step.detail());
    }
  }

  /** A job as v2 shows it: v1's fields, then its phase, priority and every count. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @Schema(name = "JobV2")
  public record Job(
      @JsonUnwrapped InvoicingV1.Job v1,
      String phase,
      String priority,
      @JsonProperty("max_attempts") int maxAttempts,
      long held,
      long pending,
      long running,
      @JsonProperty("dead_lettered") long deadLettered,
      long cancelled,
      String events) {

    static Job of(Invoicing.Job j, String namespace) {
      var c = j.counts();
      return new Job(
          InvoicingV1.Job.of(j),
          j.batch().phase(),
          j.batch().priority(),
          j.batch().maxAttempts(),
          c.held(),
          c.pending(),
          c.running(),
          c.deadLettered(),
          c.cancelled(),
          "/api/v1/namespaces/" + namespace + "/batches/" + j.batch().name() + "/events");
    }
  }

  /** A merchant as v2 shows it: v1's fields, then its settings and what workers saw of it. */
  @Schema(name = "MerchantV2")
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Merchant(
      @JsonUnwrapped InvoicingV1.Merchant v1,
      @JsonProperty("alternative_urls") List<String> alternativeUrls,
      @JsonProperty("captcha_solving") Boolean captchaSolving,
      @JsonProperty("request_timeout") String requestTimeout,
      @JsonProperty("credential_in_use") String credentialInUse,
      String circuit,
      @JsonProperty("success_rate") String successRate) {

    static Merchant of(dev.robusto.merchant.Merchant m) {
      var status = m.getStatus();
      return new Merchant(
          InvoicingV1.Merchant.of(m),
          Invoicing.alternativeUrls(m),
          m.getSpec().captchaSolving,
          m.getSpec().requestTimeout,
          status == null ? null : status.credentialInUse,
          status == null ? null : status.circuit,
          status == null || status.lastHour == null ? null : status.lastHour.successRate);
    }
  }

  /** The tenant's merchants. */
  @Schema(name = "MerchantsV2")
  public record Merchants(List<Merchant> merchants) {}

  /** A page of jobs; next_cursor fetches the next (absent: last page). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @Schema(name = "JobsV2")
  public record Jobs(List<Job> jobs, @JsonProperty("next_cursor") String nextCursor) {}

  /** What a bulk submission answers: its job, and how many tickets it carries. */
  @Schema(name = "BulkSubmitted")
  public record Bulk(String job, int tickets, String events) {}

  @POST
  @Path("/tickets")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response submit(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("Idempotency-Key") String key,
      @QueryParam("namespace") String namespace,
      Invoicing.TicketRequest request)
      throws JsonProcessingException, SQLException {
    var caller = invoicing.caller(authorization, namespace, "create");
    var ticket = Invoicing.keyed(request, key);
    var outcome = invoicing.submit(caller, ticket);
    var found = Ticket.of(invoicing.ticket(caller, ticket.id(), true));
    return outcome.replayed()
        ? Response.ok(found).header("Idempotent-Replayed", "true").build()
        : Response.created(
                jakarta.ws.rs.core.UriBuilder.fromPath("/invoicing/v2/tickets/{id}")
                    .build(ticket.id()))
            .entity(found)
            .build();
  }

  @POST
  @Path("/bulk")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response bulk(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("Idempotency-Key") String key,
      @QueryParam("namespace") String namespace,
      Invoicing.BulkRequest bulk)
      throws JsonProcessingException, SQLException {
    var caller = invoicing.caller(authorization, namespace, "create");
    var outcome = invoicing.submitBulk(caller, key, bulk);
    var answer =
        new Bulk(
            outcome.name(),
            bulk.tickets().size(),
            "/api/v1/namespaces/" + caller.namespace() + "/batches/" + outcome.name() + "/events");
    return outcome.replayed()
        ? Response.ok(answer).header("Idempotent-Replayed", "true").build()
        : Response.status(201).entity(answer).build();
  }

  /**
   * Cancels a ticket no worker holds yet: it ends cancelled (state fallido, outcome cancelled), its
   * id stays used; answers it as it now is. One in a worker's hands, or finished, is refused with
   * 409. Needs patch on automationbatches.
   */
  @DELETE
  @Path("/tickets/{id: .+}")
  public Ticket cancel(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      @PathParam("id") String id)
      throws SQLException {
    var caller = invoicing.caller(authorization, namespace, "patch");
    invoicing.cancel(caller, id);
    return Ticket.of(invoicing.ticket(caller, id, true));
  }

  @GET
  @Path("/tickets/{id: .+}")
  public Ticket ticket(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      @PathParam("id") String id)
      throws SQLException {
    return Ticket.of(invoicing.ticket(invoicing.caller(authorization, namespace, "get"), id, true));
  }

  @GET
  @Path("/jobs")
  public Jobs jobs(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      @QueryParam("state") String state,
      @QueryParam("cursor") String cursor,
      @QueryParam("limit") @DefaultValue("100") int limit)
      throws SQLException {
    var caller = invoicing.caller(authorization, namespace, "list");
    var page = invoicing.jobs(caller, state, cursor, limit);
    return new Jobs(
        page.jobs().stream().map(j -> Job.of(j, caller.namespace())).toList(), page.next());
  }

  @GET
  @Path("/merchants")
  public Merchants merchants(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace) {
    var caller = invoicing.caller(authorization, namespace, "list", "merchants");
    return new Merchants(invoicing.merchants(caller).stream().map(Merchant::of).toList());
  }

  @POST
  @Path("/merchants")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response createMerchant(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      Invoicing.MerchantRequest merchant) {
    var caller = invoicing.caller(authorization, namespace, "create", "merchants");
    return Response.status(201)
        .entity(Merchant.of(invoicing.createMerchant(caller, merchant)))
        .build();
  }

  /** Whether the platform answers for the caller's tenant (its token, its database). */
  @GET
  @Path("/health")
  public Invoicing.Health health(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace) {
    return invoicing.health(invoicing.caller(authorization, namespace, "get"));
  }

  /** The tenant's figures: today's admissions and workers against its limits, the month's. */
  @GET
  @Path("/metrics")
  public Invoicing.Usage metrics(
      @HeaderParam("Authorization") String authorization, @QueryParam("namespace") String namespace)
      throws SQLException {
    return invoicing.usage(
        invoicing.caller(authorization, namespace, "get", "tenantusages"), clock);
  }

  /** What a job submission answers: the job, and its stream. */
  @Schema(name = "JobSubmitted")
  public record JobSubmitted(String job, String stream) {}

  @POST
  @Path("/jobs")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response submitJob(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("Idempotency-Key") String key,
      @QueryParam("namespace") String namespace,
      AutomationBatchSpec spec)
      throws JsonProcessingException, SQLException {
    var caller = invoicing.caller(authorization, namespace, "create");
    var outcome = invoicing.submitJob(caller, key, spec);
    var answer =
        new JobSubmitted(outcome.name(), "/invoicing/v2/jobs/" + outcome.name() + "/stream");
    return outcome.replayed()
        ? Response.ok(answer).header("Idempotent-Replayed", "true").build()
        : Response.status(201).entity(answer).build();
  }

  /** What a job control answers: the job, what was asked, and its stream to follow it. */
  @Schema(name = "JobControlled")
  public record JobControlled(
      String job, String control, @JsonProperty("redrive_generation") Long redriveGeneration) {}

  /**
   * Pauses ({@code :pause}: its workers finish the tickets in hand, then none is claimed; its
   * tickets read pausado), resumes ({@code :resume}) or redrives ({@code :redrive}: its
   * dead-lettered tickets requeued with fresh attempts) a job. Needs patch on automationbatches.
   */
  @POST
  @Path("/jobs/{id}:{control: pause|resume|redrive}")
  public Response control(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      @PathParam("id") String id,
      @PathParam("control") String control)
      throws SQLException {
    var caller = invoicing.caller(authorization, namespace, "patch");
    invoicing.requireJob(caller, id);
    var generation = invoicing.control(caller, id, control);
    return Response.accepted(new JobControlled(id, control, generation)).build();
  }

  /** The job's progress as Server-Sent Events, as the batch API's events. */
  @GET
  @Path("/jobs/{id}/stream")
  @Produces(MediaType.SERVER_SENT_EVENTS)
  public void stream(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("Last-Event-ID") String lastEventId,
      @QueryParam("namespace") String namespace,
      @PathParam("id") String id,
      @Context SseEventSink sink,
      @Context Sse sse)
      throws SQLException {
    var caller = invoicing.caller(authorization, namespace, "get");
    invoicing.requireJob(caller, id);
    events.open(caller.namespace(), id, authorization, caller.user(), lastEventId, sink, sse);
  }

  @GET
  @Path("/migration-report")
  public Invoicing.MigrationReport migrationReport(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("from") String from,
      @QueryParam("to") String to)
      throws SQLException {
    return invoicing.migrationReport(authorization, from, to);
  }
}
