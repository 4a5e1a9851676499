package dev.robusto.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JsonProcessingException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.sql.SQLException;
import java.util.List;

/**
 * The ticket API's second version: every field of v1's answers (the same names, the same values),
 * and more: a ticket's attempts, last error, outcome, job and its merchant's settings; jobs with
 * every count, filtered by state and paged with a cursor; many tickets in one request.
 */
@Path("/invoicing/v2")
@Produces(MediaType.APPLICATION_JSON)
public class InvoicingV2 {

  private final Invoicing invoicing;

  InvoicingV2(Invoicing invoicing) {
    this.invoicing = invoicing;
  }

  /** A ticket as v2 shows it: v1's fields, then its own. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Ticket(
      @JsonUnwrapped InvoicingV1.Ticket v1,
      String outcome,
      int attempts,
      @JsonProperty("max_attempts") int maxAttempts,
      @JsonProperty("last_error") String lastError,
      String job,
      @JsonProperty("finished_at") String finishedAt,
      @JsonProperty("captcha_solving") Boolean captchaSolving,
      @JsonProperty("alternative_urls") List<String> alternativeUrls) {

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
          Invoicing.alternativeUrls(t.merchant()));
    }
  }

  /** A job as v2 shows it: v1's fields, then its phase, priority and every count. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
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

  /** A page of jobs; next_cursor fetches the next (absent: last page). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Jobs(List<Job> jobs, @JsonProperty("next_cursor") String nextCursor) {}

  /** What a bulk submission answers: its job, and how many tickets it carries. */
  public record Bulk(String job, int tickets, String events) {}

  @POST
  @Path("/tickets")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response submit(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      Invoicing.TicketRequest ticket)
      throws JsonProcessingException, SQLException {
    var caller = invoicing.caller(authorization, namespace, "create");
    var outcome = invoicing.submit(caller, ticket);
    var found = Ticket.of(invoicing.ticket(caller, ticket.id()));
    return outcome.replayed()
        ? Response.ok(found).header("Idempotent-Replayed", "true").build()
        : Response.created(URI.create("/invoicing/v2/tickets/" + ticket.id()))
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
      throws JsonProcessingException {
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

  @GET
  @Path("/tickets/{id: .+}")
  public Ticket ticket(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      @PathParam("id") String id)
      throws SQLException {
    return Ticket.of(invoicing.ticket(invoicing.caller(authorization, namespace, "get"), id));
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
  @Path("/migration-report")
  public Invoicing.MigrationReport migrationReport(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("from") String from,
      @QueryParam("to") String to)
      throws SQLException {
    return invoicing.migrationReport(authorization, from, to);
  }
}
