package dev.robusto.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.robusto.flag.FlagAnswers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * OpenFeature Remote Evaluation Protocol: single and bulk flag evaluation. The targeting key is the
 * tenant, and a caller may evaluate only for its own tenant (its ServiceAccount's namespace, see
 * {@link TenantCallers}). A disabled flag (kill switch) answers reason DISABLED with no value, so
 * the caller's code default applies. Bulk answers carry an ETag; If-None-Match gets 304.
 */
@Path("/ofrep/v1/evaluate/flags")
@Consumes(MediaType.APPLICATION_JSON)
@Produces(MediaType.APPLICATION_JSON)
public class OfrepApi {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final FlagAnswers answers;
  private final TenantCallers callers;
  private final MeterRegistry registry;

  OfrepApi(FlagAnswers answers, TenantCallers callers, MeterRegistry registry) {
    this.answers = answers;
    this.callers = callers;
    this.registry = registry;
  }

  @POST
  @Path("/{key}")
  public Uni<Response> evaluate(
      @PathParam("key") String key,
      @HeaderParam("Authorization") String authorization,
      String body) {
    return asCaller(
        authorization,
        body,
        key,
        tenant -> {
          var answer = answers.single(tenant, key);
          return Response.status(answer.status()).entity(answer.body()).build();
        });
  }

  @POST
  public Uni<Response> evaluateAll(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("If-None-Match") String ifNoneMatch,
      String body) {
    return asCaller(
        authorization,
        body,
        null,
        tenant -> {
          var bulk = answers.bulk(tenant);
          if (bulk.etag().equals(ifNoneMatch)) {
            return Response.notModified().header("ETag", bulk.etag()).build();
          }
          return Response.ok(bulk.body()).header("ETag", bulk.etag()).build();
        });
  }

  /** {@link #answer}, timed and counted by result, refusals included. */
  private Uni<Response> asCaller(
      String authorization, String body, String key, Function<String, Response> answer) {
    var started = System.nanoTime();
    return Uni.createFrom()
        .deferred(() -> answer(authorization, body, key, answer))
        .onItemOrFailure()
        .invoke(
            (response, failure) ->
                evaluations(response != null ? response.getStatus() : status(failure))
                    .record(System.nanoTime() - started, TimeUnit.NANOSECONDS));
  }

  /** robusto_ofrep_evaluation_seconds{result}: a few buckets around what callers wait for. */
  private Timer evaluations(int status) {
    var result =
        switch (status) {
          case 200 -> "evaluated";
          case 304 -> "not_modified";
          case 400 -> "invalid_context";
          case 401 -> "unauthenticated";
          case 403 -> "forbidden";
          case 404 -> "flag_not_found";
          case 429 -> "rate_limited";
          default -> "error";
        };
    return Timer.builder("robusto.ofrep.evaluation")
        .description("OFREP evaluations by result, and how long each took to answer")
        .tag("result", result)
        .serviceLevelObjectives(
            Duration.ofMillis(1),
            Duration.ofMillis(5),
            Duration.ofMillis(25),
            Duration.ofMillis(100),
            Duration.ofMillis(500))
        .register(registry);
  }

  private static int status(Throwable failure) {
    return failure instanceof WebApplicationException refusal
        ? refusal.getResponse().getStatus()
        : 500;
  }

  /**
   * Answers for the request's tenant if the caller speaks for it (400 without a usable context, 403
   * for another tenant): on the event loop when the caller is known, otherwise after establishing
   * who it is (a TokenReview and a database read) on a worker thread.
   */
  private Uni<Response> answer(
      String authorization, String body, String key, Function<String, Response> answer) {
    Function<String, Response> checked =
        caller -> {
          String tenant;
          try {
            tenant = targetingKey(body);
          } catch (BadContext e) {
            var problem = e.problem();
            if (key != null) {
              problem.put("key", key);
            }
            return Response.status(400).entity(problem).build();
          }
          return tenant.equals(caller) ? answer.apply(tenant) : forbidden(caller, tenant);
        };
    var known = callers.cachedTenantOf(authorization);
    if (known != null) {
      return Uni.createFrom().item(checked.apply(known));
    }
    return Uni.createFrom()
        .item(() -> checked.apply(callers.tenantOf(authorization)))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
  }

  private static Response forbidden(String caller, String tenant) {
    return Response.status(403)
        .entity(
            JSON.createObjectNode()
                .put(
                    "errorDetails",
                    "You speak for tenant "
                        + caller
                        + "; you cannot evaluate flags of "
                        + tenant
                        + "."))
        .build();
  }

  /** The context's targetingKey, or why the request cannot be evaluated. */
  private static String targetingKey(String body) throws BadContext {
    JsonNode request;
    try {
      request = body == null || body.isBlank() ? null : JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new BadContext("PARSE_ERROR", "The body is not JSON: " + e.getOriginalMessage());
    }
    if (request == null || !request.isObject()) {
      throw new BadContext("PARSE_ERROR", "Send {\"context\": {\"targetingKey\": \"<tenant>\"}}.");
    }
    var context = request.get("context");
    if (context != null && !context.isObject()) {
      throw new BadContext("INVALID_CONTEXT", "context must be an object.");
    }
    var key = context == null ? null : context.get("targetingKey");
    if (key == null || !key.isTextual() || key.asText().isEmpty()) {
      throw new BadContext(
          "TARGETING_KEY_MISSING", "Set context.targetingKey to the tenant's name.");
    }
    return key.asText();
  }

  /** A request whose context cannot be evaluated, with its OFREP error code. */
  private static final class BadContext extends Exception {
    final String code;

    BadContext(String code, String message) {
      super(message);
      this.code = code;
    }

    ObjectNode problem() {
      return JSON.createObjectNode().put("errorCode", code).put("errorDetails", getMessage());
    }
  }
}
