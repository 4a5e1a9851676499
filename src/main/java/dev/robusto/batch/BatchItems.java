package dev.robusto.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.PayloadCipher;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A batch's tickets, inline or from a ConfigMap or Secret key holding a JSON array of {key,
 * payload}. Never logs or reports a payload: they may carry personal data.
 */
final class BatchItems {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Why the tickets could not be read; reason and message go to the Ready condition. */
  static final class UnreadableItems extends Exception {
    final String reason;

    UnreadableItems(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  private BatchItems() {}

  static List<WorkQueue.NewItem> resolve(AutomationBatch batch, KubernetesClient client)
      throws UnreadableItems {
    var spec = batch.getSpec();
    if (spec.items != null) {
      return toNewItems(spec.items);
    }
    var source = spec.itemsFrom;
    var namespace = batch.getMetadata().getNamespace();
    var where =
        source.configMapName != null
            ? "ConfigMap " + source.configMapName
            : "Secret " + source.secretName;
    var json =
        source.configMapName != null
            ? fromConfigMap(client, namespace, source)
            : fromSecret(client, namespace, source);
    if (json == null) {
      throw new UnreadableItems(
          "ItemsSourceKeyMissing",
          where + " has no key '" + source.key + "'; put the JSON array of tickets there");
    }
    return parse(json, where, source.key);
  }

  /** The key's text in the ConfigMap (null without the key). */
  private static String fromConfigMap(
      KubernetesClient client, String namespace, AutomationBatchSpec.ItemsSource source)
      throws UnreadableItems {
    ConfigMap map = client.configMaps().inNamespace(namespace).withName(source.configMapName).get();
    if (map == null) {
      throw missing("ConfigMap " + source.configMapName);
    }
    return map.getData() == null ? null : map.getData().get(source.key);
  }

  /** The key's text in the Secret (null without the key), if the operator may read Secrets. */
  private static String fromSecret(
      KubernetesClient client, String namespace, AutomationBatchSpec.ItemsSource source)
      throws UnreadableItems {
    Secret secret;
    try {
      secret = client.secrets().inNamespace(namespace).withName(source.secretName).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 403) {
        throw e;
      }
      throw new UnreadableItems(
          "ItemsSourceForbidden",
          "This installation does not let the operator read Secrets (Helm value"
              + " batch.readItemSecrets is false); use itemsFrom.configMapName, or ask the"
              + " platform team to enable it.");
    }
    if (secret == null) {
      throw missing("Secret " + source.secretName);
    }
    var encoded = secret.getData() == null ? null : secret.getData().get(source.key);
    return encoded == null
        ? null
        : new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
  }

  /** The tickets in {@code json}, each with a key; what is wrong, and where, otherwise. */
  private static List<WorkQueue.NewItem> parse(String json, String where, String key)
      throws UnreadableItems {
    try {
      List<AutomationBatchSpec.Item> items =
          JSON.readValue(json, new TypeReference<List<AutomationBatchSpec.Item>>() {});
      for (var i = 0; i < items.size(); i++) {
        var itemKey = items.get(i).key;
        if (itemKey == null || itemKey.isEmpty() || itemKey.length() > 255) {
          throw new UnreadableItems(
              "InvalidItems",
              where + " key '" + key + "': item " + i + " needs a key of 1 to 255 characters");
        }
      }
      return toNewItems(items);
    } catch (JsonProcessingException e) {
      throw new UnreadableItems(
          "InvalidItems",
          where
              + " key '"
              + key
              + "' is not a JSON array of {\"key\": ..., \"payload\": {...}} (line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr()
              + ")");
    }
  }

  private static UnreadableItems missing(String where) {
    return new UnreadableItems(
        "ItemsSourceNotFound", where + " not found in the batch's namespace; create it");
  }

  private static List<WorkQueue.NewItem> toNewItems(List<AutomationBatchSpec.Item> items)
      throws UnreadableItems {
    var result = new ArrayList<WorkQueue.NewItem>(items.size());
    for (var item : items) {
      if (PayloadCipher.reserved(item.payload)) {
        throw new UnreadableItems(
            "InvalidItems",
            "ticket '%s': a payload may not have the field %s (it marks an encrypted payload);"
                    .formatted(item.key, PayloadCipher.FIELD)
                + " rename it");
      }
      result.add(
          new WorkQueue.NewItem(item.key, item.payload == null ? "{}" : item.payload.toString()));
    }
    return result;
  }
}
