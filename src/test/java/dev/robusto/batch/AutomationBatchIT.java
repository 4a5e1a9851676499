package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.TenantLimits;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.TestThreads;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * AutomationBatch end to end on the local cluster: the operator creates the worker Jobs, the
 * scheduler places their pods on KWOK nodes, and {@link LocalNode} runs those pods as real worker
 * processes against the real PostgreSQL, so tickets are really processed.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class AutomationBatchIT {

  private static final String WORKER_IMAGE = "robusto-operator:dev";
  private static final Duration FINISH_TIMEOUT = Duration.ofSeconds(180);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client = LocalCluster.get().client();

  @Test
  void theMonthEndBatchEndsWith450InvoicedAnd50RefusedVisibleAtAGlance() throws Exception {
    var namespace = readyTenant("mes", Tier.ENTERPRISE, null);
    var accepted = new ConcurrentHashMap<String, AtomicInteger>();
    var refused = new ConcurrentHashMap<String, AtomicInteger>();
    // The portal refuses every tenth ticket (an invalid RFC: HTTP 422, not worth retrying).
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          var key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
          exchange.getRequestBody().readAllBytes();
          var folio = Integer.parseInt(key.substring(key.lastIndexOf('-') + 1));
          var bad = folio % 10 == 0;
          (bad ? refused : accepted)
              .computeIfAbsent(key, k -> new AtomicInteger())
              .incrementAndGet();
          exchange.sendResponseHeaders(bad ? 422 : 201, -1);
          exchange.close();
        });
    portal.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    portal.start();
    try (var kubelet = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      var tickets = new ArrayList<Map<String, Object>>();
      IntStream.range(0, 500)
          .forEach(
              i ->
                  tickets.add(
                      Map.of(
                          "key",
                          "2026-11-" + i,
                          "payload",
                          Map.of("folio", i, "total", 100 + i, "rfc", "XAXX010101000"))));
      client
          .resource(
              new ConfigMapBuilder()
                  .withNewMetadata()
                  .withName("tickets-noviembre")
                  .withNamespace(namespace)
                  .endMetadata()
                  .withData(Map.of("items.json", JSON.writeValueAsString(tickets)))
                  .build())
          .create();
      var batch =
          batch(
              namespace,
              "fin-de-mes",
              spec -> {
                spec.itemsFrom = new AutomationBatchSpec.ItemsSource();
                spec.itemsFrom.configMapName = "tickets-noviembre";
                spec.priority = Priority.URGENTE;
                spec.parallelism = 4;
                spec.processor.http = new AutomationBatchSpec.Http();
                spec.processor.http.url =
                    "http://127.0.0.1:" + portal.getAddress().getPort() + "/facturas";
              });
      client.resource(batch).create();

      var done = awaitPhase(namespace, "fin-de-mes", "PartiallyFailed");
      // Finished, but 50 tickets were refused: Argo CD shows it for someone to look at.
      assertThat(ArgoCdScripts.health(client, done))
          .isEqualTo(new ArgoCdScripts.Health("Degraded", condition(done, "Ready").getMessage()));
      var counts = done.getStatus().counts;
      assertThat(counts.total).isEqualTo(500);
      assertThat(counts.succeeded).isEqualTo(450);
      assertThat(counts.failed).isEqualTo(50);
      assertThat(counts.deadLettered + counts.pending + counts.running + counts.throttled).isZero();
      assertThat(done.getStatus().jobs)
          .as("the Job the operator created, run to completion by the worker pods")
          .singleElement()
          .satisfies(
              job -> {
                assertThat(job.state).isEqualTo("Complete");
                assertThat(job.parallelism).isEqualTo(4);
                assertThat(job.succeeded).isPositive();
              });
      assertThat(condition(done, "Complete").getMessage())
          .isEqualTo("450 of 500 tickets succeeded, 50 failed, 0 dead-lettered.");
      assertThat(done.getStatus().startTime).isNotNull();
      assertThat(done.getStatus().completionTime).isNotNull();
      assertThat(accepted).hasSize(450);
      assertThat(accepted.values())
          .as("no ticket invoiced twice")
          .allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
      assertThat(refused.values())
          .as("a 422 is not retried")
          .allSatisfy(n -> assertThat(n.get()).isEqualTo(1));

      var table = LocalCluster.get().kubectl("get", "automationbatch", "-n", namespace);
      assertThat(table)
          .as("the CRD generator orders columns by their JSON path")
          .containsPattern(
              "AGE\\s+DEAD\\s+FAILED\\s+PENDING\\s+SUCCEEDED\\s+TOTAL\\s+PHASE\\s+WORKERS")
          .containsPattern(
              "fin-de-mes\\s+\\S+\\s+0\\s+50\\s+0\\s+450\\s+500\\s+PartiallyFailed\\s+0");
      await("finished Jobs are cleaned up")
          .atMost(Duration.ofSeconds(30))
          .until(() -> workerJobs(namespace).isEmpty());

      // Re-applying the batch (here with a new parallelism) queues nothing twice.
      client
          .resources(AutomationBatch.class)
          .inNamespace(namespace)
          .withName("fin-de-mes")
          .edit(
              b -> {
                b.getSpec().parallelism = 2;
                return b;
              });
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> get(namespace, "fin-de-mes").getStatus().observedGeneration == 2L);
      var again = get(namespace, "fin-de-mes");
      assertThat(again.getStatus().counts.total).isEqualTo(500);
      assertThat(again.getStatus().phase).isEqualTo(AutomationBatchStatus.Phase.PARTIALLY_FAILED);
      assertThat(workerJobs(namespace)).isEmpty();
      assertThat(kubelet.running()).isZero();
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void theTenantsCapsHoldAcrossItsBatchesAndTheRestWaitsForTomorrow() throws Exception {
    var began = LocalDate.now(ZoneOffset.UTC);
    var limits = new TenantLimits(2, 150, 60_000);
    var namespace = readyTenant("cuota", Tier.CUSTOM, limits);
    var sampling = new AtomicBoolean(true);
    var reasons = ConcurrentHashMap.<String>newKeySet();
    try (var kubelet = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS);
        var threads = new TestThreads()) {
      // What batches say while they share the cap (a person's view; the cap itself is counted by
      // the kubelet harness at every worker start).
      threads.start(
          () -> {
            while (sampling.get()) {
              try {
                observeReasons(namespace, reasons);
              } catch (KubernetesClientException e) {
                // a missed look; the next one comes 50 ms later
              }
              Thread.sleep(50);
            }
          });
      for (var name : List.of("urgentes", "normales")) {
        client
            .resource(
                batch(
                    namespace,
                    name,
                    spec -> {
                      spec.items =
                          IntStream.range(0, 100)
                              .mapToObj(
                                  i -> {
                                    var item = new AutomationBatchSpec.Item();
                                    item.key = name + "-" + i;
                                    return item;
                                  })
                              .toList();
                      spec.priority = name.equals("urgentes") ? Priority.ALTA : Priority.BAJA;
                      spec.parallelism = 2;
                      spec.processor.simulated = new AutomationBatchSpec.Simulated();
                      spec.processor.simulated.meanLatency = "30ms";
                    }))
            .create();
      }
      await()
          .atMost(FINISH_TIMEOUT)
          .until(
              () ->
                  Set.of("Succeeded", "Throttled").contains(phase(namespace, "urgentes"))
                      && Set.of("Succeeded", "Throttled").contains(phase(namespace, "normales"))
                      && get(namespace, "urgentes").getStatus().counts.succeeded
                              + get(namespace, "normales").getStatus().counts.succeeded
                          == 150);
      sampling.set(false);
      threads.join();

      assertThat(kubelet.peak())
          .as("worker processes of the tenant alive at once, across both batches")
          .isBetween(1, 2);
      assertThat(kubelet.peakPods())
          .as("worker pods of the tenant not finished at once, across both batches")
          .isBetween(1, 2);
      assertThat(reasons)
          .as("one batch waited for the other's workers")
          .contains("Queued/ConcurrencyLimit");
      var throttled =
          List.of(get(namespace, "urgentes"), get(namespace, "normales")).stream()
              .filter(b -> b.getStatus().phase == AutomationBatchStatus.Phase.THROTTLED)
              .toList();
      assertThat(throttled)
          .as("the daily cap of 150 holds across both batches")
          .singleElement()
          .satisfies(
              b -> {
                assertThat(b.getStatus().counts.throttled).isEqualTo(50);
                // The UTC day the operator admitted on: the day the test began, or the next
                // when the test ran across midnight.
                var tomorrow = b.getStatus().resumesAt;
                assertThat(tomorrow)
                    .isIn(
                        began.plusDays(1) + "T00:00:00Z",
                        LocalDate.now(ZoneOffset.UTC).plusDays(1) + "T00:00:00Z");
                assertThat(condition(b, "Throttled").getMessage())
                    .isEqualTo(
                        "50 tickets wait for tenant cuota's daily quota (maxDailyJobs 150, all"
                            + " admitted today); they resume at "
                            + tomorrow
                            + ".");
              });
      await("the throttled batch's finished Job is not replaced before tomorrow")
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .until(() -> kubelet.running() == 0);
    }
  }

  @Test
  void badBatchesAreRefusedOrExplained() throws Exception {
    var namespace = readyTenant("errores", Tier.STARTUP, null);
    var both =
        batch(
            namespace,
            "ambos",
            spec -> {
              spec.items = List.of(item("a"));
              spec.itemsFrom = new AutomationBatchSpec.ItemsSource();
              spec.itemsFrom.configMapName = "x";
              spec.processor.simulated = new AutomationBatchSpec.Simulated();
            });
    assertRefused(both, "give the tickets either inline in items or by reference in itemsFrom");
    var twoProcessors =
        batch(
            namespace,
            "dos",
            spec -> {
              spec.items = List.of(item("a"));
              spec.processor.simulated = new AutomationBatchSpec.Simulated();
              spec.processor.command = new AutomationBatchSpec.Command();
              spec.processor.command.command = List.of("true");
            });
    assertRefused(twoProcessors, "processor takes exactly one of http, command and simulated");
    var credentials =
        batch(
            namespace,
            "clave",
            spec -> {
              spec.items = List.of(item("a"));
              spec.processor.http = new AutomationBatchSpec.Http();
              spec.processor.http.url = "https://user:secret@portal.example/facturas";
            });
    assertRefused(credentials, "spec.processor.http.url");

    client
        .resource(
            batch(
                "default",
                "sin-tenant",
                spec -> {
                  spec.items = List.of(item("a"));
                  spec.processor.simulated = new AutomationBatchSpec.Simulated();
                }))
        .create();
    var orphan = awaitReason("default", "sin-tenant", "TenantNotFound");
    assertThat(orphan.getStatus().phase).isEqualTo(AutomationBatchStatus.Phase.PENDING);
    assertThat(condition(orphan, "Ready").getMessage())
        .isEqualTo(
            "Namespace default belongs to no Tenant; create batches in a tenant's namespace.");
    // A tenant's database rows follow its namespace by a moment: waiting, not stalled.
    assertThat(orphan.getStatus().conditions).noneMatch(c -> c.getType().equals("Stalled"));
    assertThat(ArgoCdScripts.health(client, orphan))
        .isEqualTo(
            new ArgoCdScripts.Health(
                "Progressing",
                "Namespace default belongs to no Tenant; create batches in a tenant's"
                    + " namespace."));

    client
        .resource(
            batch(
                namespace,
                "secreto",
                spec -> {
                  spec.itemsFrom = new AutomationBatchSpec.ItemsSource();
                  spec.itemsFrom.secretName = "tickets";
                  spec.processor.simulated = new AutomationBatchSpec.Simulated();
                }))
        .create();
    var forbidden = awaitReason(namespace, "secreto", "ItemsSourceForbidden");
    assertThat(condition(forbidden, "Ready").getMessage())
        .contains("batch.readItemSecrets is false");
    // Only the chart's values or another spec end it: Flux fails at once, Argo CD says why.
    assertThat(condition(forbidden, "Stalled").getMessage())
        .isEqualTo(condition(forbidden, "Ready").getMessage());
    assertThat(ArgoCdScripts.health(client, forbidden))
        .isEqualTo(
            new ArgoCdScripts.Health("Degraded", condition(forbidden, "Ready").getMessage()));

    try (var kubelet = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client
          .resource(
              batch(
                  namespace,
                  "tarde",
                  spec -> {
                    spec.itemsFrom = new AutomationBatchSpec.ItemsSource();
                    spec.itemsFrom.configMapName = "llega-tarde";
                    spec.processor.simulated = new AutomationBatchSpec.Simulated();
                  }))
          .create();
      var waiting = awaitReason(namespace, "tarde", "ItemsSourceNotFound");
      assertThat(condition(waiting, "Ready").getMessage())
          .isEqualTo("ConfigMap llega-tarde not found in the batch's namespace; create it");
      // The same sync may still apply the ConfigMap: waiting, not stalled.
      assertThat(waiting.getStatus().conditions).noneMatch(c -> c.getType().equals("Stalled"));
      assertThat(ArgoCdScripts.health(client, waiting).status()).isEqualTo("Progressing");
      client
          .resource(
              new ConfigMapBuilder()
                  .withNewMetadata()
                  .withName("llega-tarde")
                  .withNamespace(namespace)
                  .endMetadata()
                  .withData(Map.of("items.json", "[{\"key\": \"t-1\"}, {\"key\": \"t-2\"}]"))
                  .build())
          .create();
      var done = awaitPhase(namespace, "tarde", "Succeeded");
      assertThat(done.getStatus().counts.succeeded).isEqualTo(2);
      assertThat(ArgoCdScripts.health(client, done).status()).isEqualTo("Healthy");

      // Every ticket refused for good: finished, and nothing more happens without a person.
      client
          .resource(
              batch(
                  namespace,
                  "todo-mal",
                  spec -> {
                    spec.items = List.of(item("m-1"), item("m-2"));
                    spec.processor.simulated = new AutomationBatchSpec.Simulated();
                    spec.processor.simulated.permanentFailureRate = 1.0;
                  }))
          .create();
      var failed = awaitPhase(namespace, "todo-mal", "Failed");
      assertThat(condition(failed, "Stalled").getMessage())
          .isEqualTo(
              "0 of 2 tickets succeeded, 2 failed, 0 dead-lettered. No ticket succeeded: the"
                  + " portal refused every one for good (each ticket's last error says why); fix"
                  + " them and submit them again.");
      assertThat(ArgoCdScripts.health(client, failed))
          .isEqualTo(
              new ArgoCdScripts.Health("Degraded", condition(failed, "Stalled").getMessage()));
    }
  }

  private void assertRefused(AutomationBatch batch, String message) {
    try {
      client.resource(batch).create();
      throw new AssertionError("the API server accepted " + batch.getMetadata().getName());
    } catch (KubernetesClientException e) {
      assertThat(e.getCode()).isEqualTo(422);
      assertThat(e.getMessage()).contains(message);
    }
  }

  private String readyTenant(String name, Tier tier, TenantLimits limits) {
    return TestTenants.ready(client, name, tier, limits);
  }

  private static AutomationBatch batch(
      String namespace, String name, Consumer<AutomationBatchSpec> customize) {
    var batch = new AutomationBatch();
    batch.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    customize.accept(spec);
    batch.setSpec(spec);
    return batch;
  }

  private static AutomationBatchSpec.Item item(String key) {
    var item = new AutomationBatchSpec.Item();
    item.key = key;
    return item;
  }

  private AutomationBatch get(String namespace, String name) {
    return client.resources(AutomationBatch.class).inNamespace(namespace).withName(name).get();
  }

  private String phase(String namespace, String name) {
    var batch = get(namespace, name);
    return batch.getStatus() == null || batch.getStatus().phase == null
        ? "none"
        : batch.getStatus().phase.toString();
  }

  private AutomationBatch awaitPhase(String namespace, String name, String phase) {
    await(name + " " + phase)
        .atMost(FINISH_TIMEOUT)
        .until(() -> phase.equals(phase(namespace, name)));
    return get(namespace, name);
  }

  private AutomationBatch awaitReason(String namespace, String name, String reason) {
    await(name + " " + reason)
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              var b = get(namespace, name);
              return b.getStatus() != null
                  && !b.getStatus().conditions.isEmpty()
                  && reason.equals(condition(b, "Ready").getReason());
            });
    return get(namespace, name);
  }

  private static Condition condition(AutomationBatch batch, String type) {
    return batch.getStatus().conditions.stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElseThrow();
  }

  private List<Job> workerJobs(String namespace) {
    return client
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .withLabel("app.kubernetes.io/component", "batch-worker")
        .list()
        .getItems();
  }

  /** One look at the tenant's worker pods and the two batches' phases, for the sampler. */
  private void observeReasons(String namespace, Set<String> reasons) {
    for (var name : List.of("urgentes", "normales")) {
      var b = client.resources(AutomationBatch.class).inNamespace(namespace).withName(name).get();
      if (b != null && b.getStatus() != null && !b.getStatus().conditions.isEmpty()) {
        reasons.add(b.getStatus().phase + "/" + condition(b, "Ready").getReason());
      }
    }
  }
}
