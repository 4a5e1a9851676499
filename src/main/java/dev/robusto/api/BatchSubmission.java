package dev.robusto.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.operator.Hashes;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Map;

/**
 * A batch submitted over HTTP under an idempotency key: its name comes from the key, so a retried
 * request finds the batch the first one created and creates nothing; the same key with another
 * request is refused (422). Shared by the batch API and the ticket API.
 */
final class BatchSubmission {

  static final String KEY_ANNOTATION = "robusto.dev/idempotency-key-sha256";
  static final String REQUEST_ANNOTATION = "robusto.dev/request-sha256";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The batch's name, whether this call replayed an earlier one, and the request's hash. */
  record Outcome(String name, boolean replayed, String requestHash) {}

  private BatchSubmission() {}

  /** The batch a request with {@code key} names: {@code prefix} and a hash of the key. */
  static String name(String prefix, String namespace, String key) {
    return prefix + Hashes.sha256Hex(namespace + "\n" + key).substring(0, 20);
  }

  static Outcome submit(
      KubernetesClient client,
      String namespace,
      String prefix,
      String key,
      AutomationBatchSpec spec,
      String keyField)
      throws JsonProcessingException {
    var keyHash = Hashes.sha256Hex(namespace + "\n" + key);
    var requestHash = Hashes.sha256Hex(JSON.writeValueAsString(spec));
    var name = name(prefix, namespace, key);
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder()
            .withName(name)
            .withNamespace(namespace)
            .withAnnotations(Map.of(KEY_ANNOTATION, keyHash, REQUEST_ANNOTATION, requestHash))
            .build());
    batch.setSpec(spec);
    try {
      client.resource(batch).create();
      return new Outcome(name, false, requestHash);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        var existing =
            client.resources(AutomationBatch.class).inNamespace(namespace).withName(name).get();
        var annotations = existing == null ? null : existing.getMetadata().getAnnotations();
        if (annotations != null && requestHash.equals(annotations.get(REQUEST_ANNOTATION))) {
          return new Outcome(name, true, requestHash);
        }
        throw KubeAuth.refuse(
            422,
            "This %s was used for a different request; use a new one.".formatted(keyField),
            keyField);
      }
      if (e.getCode() == 422 || e.getCode() == 400) {
        throw KubeAuth.refuse(
            422,
            e.getStatus() == null ? e.getMessage() : e.getStatus().getMessage(),
            fieldAtFault(e));
      }
      throw e;
    }
  }

  /** The first field the API server's validation named (spec.items[0].key), as the body's. */
  private static String fieldAtFault(KubernetesClientException e) {
    var details = e.getStatus() == null ? null : e.getStatus().getDetails();
    if (details == null || details.getCauses() == null || details.getCauses().isEmpty()) {
      return null;
    }
    return details.getCauses().get(0).getField();
  }
}
