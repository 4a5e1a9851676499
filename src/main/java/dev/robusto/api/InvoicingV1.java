package dev.robusto.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.sql.SQLException;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The ticket API's first version, kept working for the clients that use it: tickets in the seeds'
 * states, and the tenant's jobs. Deprecated in favour of {@link InvoicingV2}, whose answers carry
 * every field of these ({@link ApiDeprecation} says so in headers).
 */
@Path("/invoicing/v1")
@Produces(MediaType.APPLICATION_JSON)
public class InvoicingV1 {

  private final Invoicing invoicing;

  InvoicingV1(Invoicing invoicing) {
    this.invoicing = invoicing;
  }

  /** A ticket as v1 shows it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @Schema(name = "TicketV1")
  public record Ticket(
      String id,
      String merchant,
      String priority,
      String state,
      @JsonProperty("created_at") String createdAt,
      @JsonProperty("updated_at") String updatedAt) {

    static Ticket of(Invoicing.Found t) {
      return new Ticket(
          t.id(),
          t.merchant() == null ? null : t.merchant().getMetadata().getName(),
          t.priority(),
          t.state(),
          t.createdAt().toString(),
          t.updatedAt().toString());
    }
  }

  /** A job (a batch of tickets) as v1 shows it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @Schema(name = "JobV1")
  public record Job(
      String id,
      String state,
      long total,
      long succeeded,
      long failed,
      @JsonProperty("created_at") String createdAt) {

    static Job of(Invoicing.Job j) {
      var c = j.counts();
      return new Job(
          j.batch().name(),
          j.state(),
          c.total(),
          c.succeeded(),
          c.failed() + c.deadLettered() + c.cancelled(),
          j.batch().createdAt().toString());
    }
  }

  /** A merchant as v1 shows it. */
  @Schema(name = "MerchantV1")
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Merchant(String name, String url, Boolean ready) {

    static Merchant of(dev.robusto.merchant.Merchant m) {
      var status = m.getStatus();
      var ready =
          status == null
              ? null
              : status.conditions.stream()
                  .filter(c -> "Ready".equals(c.getType()))
                  .map(c -> "True".equals(c.getStatus()))
                  .findFirst()
                  .orElse(null);
      return new Merchant(m.getMetadata().getName(), m.getSpec().url, ready);
    }
  }

  /** The tenant's merchants. */
  @Schema(name = "MerchantsV1")
  public record Merchants(List<Merchant> merchants) {}

  /** v1's job list: the first page only. */
  @Schema(name = "JobsV1")
  public record Jobs(List<Job> jobs) {}

  // v1 ignores an Idempotency-Key header, as it always has (the ticket's id is its key): a client
  // whose library sends a fresh one with every POST keeps working. v2 takes it as the id.
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
    var found = Ticket.of(invoicing.ticket(caller, ticket.id(), false));
    return outcome.replayed()
        ? Response.ok(found).header("Idempotent-Replayed", "true").build()
        : Response.created(
                jakarta.ws.rs.core.UriBuilder.fromPath("/invoicing/v1/tickets/{id}")
                    .build(ticket.id()))
            .entity(found)
            .build();
  }

  @GET
  @Path("/tickets/{id: .+}")
  public Ticket ticket(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("namespace") String namespace,
      @PathParam("id") String id)
      throws SQLException {
    return Ticket.of(
        invoicing.ticket(invoicing.caller(authorization, namespace, "get"), id, false));
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

  @GET
  @Path("/jobs")
  public Jobs jobs(
      @HeaderParam("Authorization") String authorization, @QueryParam("namespace") String namespace)
      throws SQLException {
    var page = invoicing.jobs(invoicing.caller(authorization, namespace, "list"), null, null, 100);
    return new Jobs(page.jobs().stream().map(Job::of).toList());
  }
}
