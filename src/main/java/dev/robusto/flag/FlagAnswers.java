package dev.robusto.flag;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.robusto.operator.Hashes;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tenant's OFREP answers, serialized once per catalog revision: evaluating a flag on the request
 * path is a map lookup, and every answer changes as soon as the catalog does.
 */
@ApplicationScoped
public class FlagAnswers {

  /**
   * Tenants whose answers are kept; beyond it the cache starts over (answers are cheap to redo).
   */
  private static final int MAX_TENANTS = 10_000;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One flag's answer: 200 with the evaluation, or 404 with the OFREP error. */
  public record Answer(int status, byte[] body) {}

  /** Every served flag's evaluation for a tenant, and its ETag. */
  public record Bulk(byte[] body, String etag) {}

  private record TenantAnswers(long revision, Map<String, Answer> byFlag, Bulk bulk) {}

  private final FlagCatalog catalog;
  private final Map<String, TenantAnswers> byTenant = new ConcurrentHashMap<>();

  FlagAnswers(FlagCatalog catalog) {
    this.catalog = catalog;
  }

  public Answer single(String tenant, String key) {
    var answer = answers(tenant).byFlag().get(key);
    return answer != null
        ? answer
        : new Answer(404, error(key, "FLAG_NOT_FOUND", "No flag " + key + "."));
  }

  public Bulk bulk(String tenant) {
    return answers(tenant).bulk();
  }

  private TenantAnswers answers(String tenant) {
    var revision = catalog.revision();
    var cached = byTenant.get(tenant);
    if (cached != null && cached.revision() == revision) {
      return cached;
    }
    // Read the revision before the flags: a change in between leaves a stale revision, redone next.
    var fresh = compute(tenant, revision);
    if (byTenant.size() >= MAX_TENANTS) {
      byTenant.clear();
    }
    byTenant.put(tenant, fresh);
    return fresh;
  }

  private TenantAnswers compute(String tenant, long revision) {
    var byFlag = new HashMap<String, Answer>();
    var served = JSON.createArrayNode();
    for (var flag : catalog.all()) {
      var key = flag.getMetadata().getName();
      if (FlagEvaluation.specErrors(flag.getSpec()).isEmpty()) {
        var evaluation = evaluation(flag, tenant);
        served.add(evaluation);
        byFlag.put(key, new Answer(200, bytes(evaluation)));
      } else {
        byFlag.put(
            key,
            new Answer(
                404,
                error(
                    key,
                    "FLAG_NOT_FOUND",
                    "Flag " + key + " is not served until its spec is fixed.")));
      }
    }
    var bulk = JSON.createObjectNode();
    bulk.set("flags", served);
    var body = bytes(bulk);
    var etag =
        "\"" + Hashes.sha256Hex(new String(body, StandardCharsets.UTF_8)).substring(0, 32) + "\"";
    return new TenantAnswers(revision, Map.copyOf(byFlag), new Bulk(body, etag));
  }

  private static ObjectNode evaluation(FeatureFlag flag, String tenant) {
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

  private static byte[] error(String key, String code, String details) {
    return bytes(
        JSON.createObjectNode()
            .put("key", key)
            .put("errorCode", code)
            .put("errorDetails", details));
  }

  private static byte[] bytes(ObjectNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
