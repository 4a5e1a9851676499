package dev.robusto.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.deployment.AutomationDeployment;
import dev.robusto.deployment.AutomationDeploymentSpec;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Fleets for tests and drills: simulated workers of the image {@link LocalNode} runs, quick
 * retries, and batches handed to them.
 */
public final class TestFleets {

  public static final String IMAGE = "robusto-operator:dev";
  private static final ObjectMapper JSON = new ObjectMapper();

  private TestFleets() {}

  /** A fleet of simulated workers taking {@code meanLatency} a ticket, measured every interval. */
  public static AutomationDeployment fleet(
      String namespace, String name, int replicas, String meanLatency, String interval) {
    var fleet = new AutomationDeployment();
    fleet.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    var spec = new AutomationDeploymentSpec();
    spec.replicas = replicas;
    spec.template =
        new PodTemplateSpecBuilder()
            .withNewSpec()
            .addNewContainer()
            .withName("worker")
            .withImage(IMAGE)
            .endContainer()
            .endSpec()
            .build();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.simulated = new AutomationBatchSpec.Simulated();
    spec.processor.simulated.meanLatency = meanLatency;
    spec.backoff.initial = "100ms";
    spec.backoff.max = "1s";
    spec.analysis.interval = interval;
    fleet.setSpec(spec);
    return fleet;
  }

  /** Hands {@code tickets} tickets (from a ConfigMap) to the fleet in a batch of its own. */
  public static void feed(KubernetesClient client, String namespace, String fleet, int tickets)
      throws JsonProcessingException {
    var items = new ArrayList<Map<String, Object>>();
    IntStream.range(0, tickets)
        .forEach(i -> items.add(Map.of("key", fleet + "-" + i, "payload", Map.of("folio", i))));
    client
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName(fleet + "-tickets")
                .withNamespace(namespace)
                .endMetadata()
                .withData(Map.of("items.json", JSON.writeValueAsString(items)))
                .build())
        .create();
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder().withName(fleet + "-lote").withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.itemsFrom = new AutomationBatchSpec.ItemsSource();
    spec.itemsFrom.configMapName = fleet + "-tickets";
    spec.deployment = fleet;
    spec.maxAttempts = 50;
    batch.setSpec(spec);
    client.resource(batch).create();
  }
}
