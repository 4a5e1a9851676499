package dev.robusto.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.batch.BatchStore;
import dev.robusto.queue.WorkQueue;
import io.fabric8.kubernetes.client.KubernetesClient;
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

/**
 * Batches over HTTP, for systems that submit tickets without kubectl. Callers authenticate with a
 * Kubernetes bearer token and get what their RBAC on automationbatches allows (see {@link
 * KubeAuth}), within their rate and stream caps ({@link CallerLimits}).
 *
 * <ul>
 *   <li>{@code POST .../batches} with an {@code Idempotency-Key} header and an AutomationBatch spec
 *       as the body creates the batch. The batch's name comes from the key, so a retried request
 *       returns the same batch (200, {@code Idempotent-Replayed: true}) and creates nothing; the
 *       same key with a different body is refused (422).
 *   <li>{@code GET .../batches/{name}/events}: Server-Sent Events with the batch's progress. The
 *       event id is the number of finished tickets; a client reconnecting with {@code
 *       Last-Event-ID} gets only newer progress. The stream ends with a {@code done} event when the
 *       batch finishes, or after {@link BatchEvents#STREAM_LIMIT} (reconnect to go on).
 * </ul>
 */
@Path("/api/v1/namespaces/{namespace}/batches")
public class BatchApi {

  private static final String RESOURCE = "automationbatches";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final KubernetesClient client;
  private final BatchStore store;
  private final WorkQueue queue;
  private final AuditLog audit;
  private final BatchEvents events;

  BatchApi(
      KubeAuth auth,
      CallerLimits limits,
      KubernetesClient client,
      BatchStore store,
      WorkQueue queue,
      AuditLog audit,
      BatchEvents events) {
    this.auth = auth;
    this.limits = limits;
    this.client = client;
    this.store = store;
    this.queue = queue;
    this.audit = audit;
    this.events = events;
  }

  /** What a submission answers: the batch, and where to follow it. */
  public record Submitted(String namespace, String name, String events) {}

  @POST
  @Consumes(MediaType.APPLICATION_JSON)
  @Produces(MediaType.APPLICATION_JSON)
  public Response submit(
      @PathParam("namespace") String namespace,
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("Idempotency-Key") String key,
      AutomationBatchSpec spec)
      throws JsonProcessingException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.BATCHES, caller.getUsername());
    auth.allow(caller, "create", RESOURCE, null, namespace);
    if (spec != null && spec.processor != null && spec.processor.command != null) {
      // A command runs any program in the tenant's pods: its own permission, as at admission.
      auth.allow(caller, "create", RESOURCE, "command", namespace);
    }
    var user = caller.getUsername();
    if (key == null || key.isBlank() || key.length() > 255) {
      throw KubeAuth.refuse(
          400,
          "Send an Idempotency-Key header (1 to 255 characters) so a retry is not a copy.",
          "Idempotency-Key");
    }
    if (spec == null) {
      throw KubeAuth.refuse(400, "Send an AutomationBatch spec as the JSON body.", "body");
    }
    var outcome = BatchSubmission.submit(client, namespace, "bulk-", key, spec, "Idempotency-Key");
    var name = outcome.name();
    var submitted = new Submitted(namespace, name, eventsPath(namespace, name));
    if (outcome.replayed()) {
      return Response.ok(submitted).header("Idempotent-Replayed", "true").build();
    }
    new Auditor(audit, "api:" + user)
        .record(
            "create",
            "AutomationBatch/" + namespace + "/" + name,
            null,
            null,
            outcome.requestHash());
    return Response.status(201).entity(submitted).build();
  }

  @GET
  @Path("/{name}/events")
  @Produces(MediaType.SERVER_SENT_EVENTS)
  public void events(
      @PathParam("namespace") String namespace,
      @PathParam("name") String name,
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("Last-Event-ID") String lastEventId,
      @Context SseEventSink sink,
      @Context Sse sse)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.BATCHES, caller.getUsername());
    auth.allow(caller, "get", RESOURCE, null, namespace);
    queued(namespace, name);
    events.open(namespace, name, authorization, caller.getUsername(), lastEventId, sink, sse);
  }

  /** A page of dead letters; {@code next} is the cursor of the next page (null: last page). */
  public record DeadLetters(List<WorkQueue.DeadLetter> items, String next) {}

  /**
   * The batch's dead-lettered tickets with their last error, by key, {@code limit} (1 to 500) a
   * page after the cursor {@code after} (the previous page's next). The payloads stay out.
   */
  @GET
  @Path("/{name}/dead-letters")
  @Produces(MediaType.APPLICATION_JSON)
  public DeadLetters deadLetters(
      @PathParam("namespace") String namespace,
      @PathParam("name") String name,
      @HeaderParam("Authorization") String authorization,
      @QueryParam("after") String after,
      @QueryParam("limit") @DefaultValue("100") int limit)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.BATCHES, caller.getUsername());
    auth.allow(caller, "get", RESOURCE, null, namespace);
    if (limit < 1 || limit > 500) {
      throw KubeAuth.refuse(400, "limit must be 1 to 500.", "limit");
    }
    var row = queued(namespace, name);
    var page = queue.deadLetters(row.batchId(), after, limit + 1);
    var items = page.subList(0, Math.min(limit, page.size()));
    return new DeadLetters(
        List.copyOf(items), page.size() > limit ? items.get(items.size() - 1).key() : null);
  }

  /** What a redrive request answers: the generation asked for, and where to follow the batch. */
  public record RedriveRequested(String name, long redriveGeneration, String events) {}

  /**
   * Asks for the batch's dead letters to be requeued: raises spec.redriveGeneration past the last
   * one carried out (a merge patch, as kubectl would send it; the operator does the rest once).
   * Needs patch on automationbatches.
   */
  @POST
  @Path("/{name}/dead-letters:redrive")
  @Produces(MediaType.APPLICATION_JSON)
  public Response redrive(
      @PathParam("namespace") String namespace,
      @PathParam("name") String name,
      @HeaderParam("Authorization") String authorization)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.BATCHES, caller.getUsername());
    auth.allow(caller, "patch", RESOURCE, null, namespace);
    queued(namespace, name);
    var next = BatchControls.redrive(client, namespace, name);
    new Auditor(audit, "api:" + caller.getUsername())
        .record(
            "update",
            "AutomationBatch/" + namespace + "/" + name,
            null,
            null,
            "redriveGeneration=" + next);
    return Response.accepted(new RedriveRequested(name, next, eventsPath(namespace, name))).build();
  }

  /** What a cancellation answers. */
  public record Cancelled(String key, String state) {}

  /**
   * Cancels a ticket no worker holds: it leaves the queue and ends as cancelled (an admitted ticket
   * keeps its place in today's quota; its key stays used, as a failed one's). Cancelling it again
   * answers the same; a held or finished one is refused with 409 and why. The key may hold any
   * character, percent-encoded. Needs patch on automationbatches.
   */
  @DELETE
  @Path("/{name}/tickets/{key: .+}")
  @Produces(MediaType.APPLICATION_JSON)
  public Cancelled cancel(
      @PathParam("namespace") String namespace,
      @PathParam("name") String name,
      @PathParam("key") String key,
      @HeaderParam("Authorization") String authorization)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.BATCHES, caller.getUsername());
    auth.allow(caller, "patch", RESOURCE, null, namespace);
    var row = queued(namespace, name);
    BatchControls.cancel(queue, audit, caller.getUsername(), namespace, name, row.batchId(), key);
    return new Cancelled(key, "cancelled");
  }

  private BatchStore.Row queued(String namespace, String name) throws SQLException {
    return store
        .find(namespace, name)
        .orElseThrow(
            () ->
                KubeAuth.refuse(
                    404,
                    "No batch %s in namespace %s (or it has not been queued yet)."
                        .formatted(name, namespace)));
  }

  private static String eventsPath(String namespace, String name) {
    return "/api/v1/namespaces/" + namespace + "/batches/" + name + "/events";
  }
}
