package dev.robusto.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FlagCatalog;
import dev.robusto.flag.FlagEvaluation;
import dev.robusto.operator.Hashes;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

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

  private final FlagCatalog catalog;
  private final TenantCallers callers;

  OfrepApi(FlagCatalog catalog, TenantCallers callers) {
    this.catalog = catalog;
    this.callers = callers;
  }

  @POST
  @Path("/{key}")
  public Response evaluate(
      @PathParam("key") String key,
      @HeaderParam("Authorization") String authorization,
      String body) {
    var caller = callers.tenantOf(authorization);
    String tenant;
    try {
      tenant = targetingKey(body);
    } catch (BadContext e) {
      return Response.status(400).entity(error(key, e.code, e.getMessage())).build();
    }
    if (!tenant.equals(caller)) {
      return forbidden(caller, tenant);
    }
    var flag = catalog.flag(key);
    if (flag.isEmpty()) {
      return Response.status(404)
          .entity(error(key, "FLAG_NOT_FOUND", "No flag " + key + "."))
          .build();
    }
    var problems = FlagEvaluation.specErrors(flag.get().getSpec());
    if (!problems.isEmpty()) {
      return Response.status(404)
          .entity(
              error(
                  key, "FLAG_NOT_FOUND", "Flag " + key + " is not served until its spec is fixed."))
          .build();
    }
    return Response.ok(success(flag.get(), tenant)).build();
  }

  @POST
  public Response evaluateAll(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("If-None-Match") String ifNoneMatch,
      String body)
      throws JsonProcessingException {
    var caller = callers.tenantOf(authorization);
    String tenant;
    try {
      tenant = targetingKey(body);
    } catch (BadContext e) {
      var problem =
          JSON.createObjectNode().put("errorCode", e.code).put("errorDetails", e.getMessage());
      return Response.status(400).entity(problem).build();
    }
    if (!tenant.equals(caller)) {
      return forbidden(caller, tenant);
    }
    var flags = JSON.createArrayNode();
    for (var flag : catalog.all()) {
      if (FlagEvaluation.specErrors(flag.getSpec()).isEmpty()) {
        flags.add(success(flag, tenant));
      }
    }
    var answer = JSON.createObjectNode();
    answer.set("flags", flags);
    var json = JSON.writeValueAsString(answer);
    var etag = "\"" + Hashes.sha256Hex(json).substring(0, 32) + "\"";
    if (etag.equals(ifNoneMatch)) {
      return Response.notModified().header("ETag", etag).build();
    }
    return Response.ok(json).header("ETag", etag).build();
  }

  private static ObjectNode success(FeatureFlag flag, String tenant) {
    var evaluation = FlagEvaluation.of(flag, tenant);
    var node = JSON.createObjectNode();
    node.put("key", evaluation.key());
    node.put("reason", evaluation.reason());
    if (evaluation.variant() != null) {
      node.put("variant", evaluation.variant());
    }
    if (evaluation.value() != null) {
      node.set("value", evaluation.value());
    }
    node.putObject("metadata").put("generation", flag.getMetadata().getGeneration());
    return node;
  }

  private static ObjectNode error(String key, String code, String details) {
    return JSON.createObjectNode()
        .put("key", key)
        .put("errorCode", code)
        .put("errorDetails", details);
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
  }
}
