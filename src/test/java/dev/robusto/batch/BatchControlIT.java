package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantOwner;
import dev.robusto.tenant.TenantSpec;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A batch's own controls, end to end with real workers: spec.suspend pauses it (the tickets in hand
 * finish, nothing more is claimed) and resumes it; dead letters are listed through the batch API
 * and requeued once per spec.redriveGeneration. The portals count every ticket they invoice: none
 * twice, none left out.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class BatchControlIT {

  private static final String WORKER_IMAGE = "robusto-operator:dev";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TestHTTPResource("/api/v1/namespaces")
  URL api;

  private final KubernetesClient client = LocalCluster.get().client();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aSuspendedBatchFinishesTheTicketsInHandClaimsNoMoreAndResumesWithNothingLostOrRepeated()
      throws Exception {
    var namespace = tenant("pausa");
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    var calls = new AtomicInteger();
    var portal =
        portal(
            exchange -> {
              calls.incrementAndGet();
              sleep(150); // slow enough that the suspension lands mid-batch
              return 201;
            },
            invoiced);
    try (var kubelet = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client.resource(batch(namespace, "pausable", 60, 3, portal)).create();
      await("some tickets are invoiced")
          .atMost(Duration.ofSeconds(120))
          .until(() -> invoiced.size() >= 10);

      patch(namespace, "pausable", "{\"spec\": {\"suspend\": true}}");
      await("suspended, its workers gone and no ticket in their hands")
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                var status = get(namespace, "pausable").getStatus();
                return status != null
                    && status.phase == AutomationBatchStatus.Phase.SUSPENDED
                    && status.counts.running == 0
                    && kubelet.running() == 0;
              });
      assertThat(ArgoCdScripts.health(client, get(namespace, "pausable")).status())
          .isEqualTo("Suspended");
      var callsWhenSuspended = calls.get();
      await("no worker calls the portal while the batch is suspended")
          .during(Duration.ofSeconds(4))
          .atMost(Duration.ofSeconds(6))
          .until(() -> calls.get() == callsWhenSuspended);
      var suspended = get(namespace, "pausable").getStatus();
      assertThat(suspended.counts.succeeded)
          .as("what the portal invoiced is what the batch counts")
          .isEqualTo(invoiced.size())
          .isLessThan(60);
      assertThat(suspended.counts.pending).isEqualTo(60 - suspended.counts.succeeded);
      assertThat(condition(suspended, "Ready").getMessage())
          .contains("Set spec.suspend to false to resume.");

      // While it waits, its owner takes two tickets out (a retried cancel answers the same), not a
      // finished one.
      var owner = LocalCluster.get().kubectl("create", "token", "ops", "-n", namespace).strip();
      var waiting =
          IntStream.range(0, 60)
              .mapToObj(i -> "pausa-" + i)
              .filter(k -> !invoiced.containsKey(k))
              .limit(2)
              .toList();
      for (var key : waiting) {
        var cancel = call(owner, "DELETE", namespace, "pausable", "tickets/" + key);
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(200);
        assertThat(cancel.body()).contains("\"state\":\"cancelled\"");
      }
      var twice = call(owner, "DELETE", namespace, "pausable", "tickets/" + waiting.get(0));
      assertThat(twice.statusCode()).isEqualTo(200);
      assertThat(twice.body()).contains("\"state\":\"cancelled\"");
      var invoicedKey = invoiced.keySet().iterator().next();
      assertThat(
              call(owner, "DELETE", namespace, "pausable", "tickets/" + invoicedKey).statusCode())
          .isEqualTo(409);
      assertThat(call(owner, "DELETE", namespace, "pausable", "tickets/nadie").statusCode())
          .isEqualTo(404);
      // A key is free text: a slash and a space, percent-encoded, reach the operator as they are.
      var odd = call(owner, "DELETE", namespace, "pausable", "tickets/serie%2FA%20001");
      assertThat(odd.statusCode()).isEqualTo(404);
      assertThat(JSON.readTree(odd.body()).get("detail").asText())
          .isEqualTo("Batch pausable has no ticket with key serie/A 001.");

      patch(namespace, "pausable", "{\"spec\": {\"suspend\": false}}");
      await("resumed, the batch finishes")
          .atMost(Duration.ofSeconds(180))
          .until(() -> phase(namespace, "pausable") == AutomationBatchStatus.Phase.SUCCEEDED);
      assertThat(invoiced).hasSize(58).doesNotContainKeys(waiting.toArray(String[]::new));
      assertThat(invoiced.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
      var finished = get(namespace, "pausable").getStatus();
      assertThat(finished.counts.cancelled).isEqualTo(2);
      assertThat(finished.counts.succeeded).isEqualTo(58);
      assertThat(finished.counts.total).isEqualTo(60);
      assertThat(condition(finished, "Ready").getMessage())
          .isEqualTo("58 of 60 tickets succeeded, 0 failed, 0 dead-lettered, 2 cancelled.");
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void deadLettersAreListedWithTheirErrorAndOneRedriveInvoicesThemOnceThePortalRecovers()
      throws Exception {
    var namespace = tenant("reenvio");
    var cluster = LocalCluster.get();
    var owner = cluster.kubectl("create", "token", "ops", "-n", namespace).strip();
    cluster.kubectl("create", "serviceaccount", "visor", "-n", namespace);
    cluster.kubectl(
        "create",
        "rolebinding",
        "visor-view",
        "-n",
        namespace,
        "--clusterrole",
        "view",
        "--serviceaccount",
        namespace + ":visor");
    var viewer = cluster.kubectl("create", "token", "visor", "-n", namespace).strip();
    var down = new AtomicBoolean(true);
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    // Every fifth ticket's portal is down (503, retried) until it recovers.
    var portal =
        portal(
            exchange -> {
              var key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
              var folio = Integer.parseInt(key.substring(key.lastIndexOf('-') + 1));
              return down.get() && folio % 5 == 0 ? 503 : 201;
            },
            invoiced);
    try (var kubelet = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client.resource(batch(namespace, "con-caidas", 20, 2, portal)).create();
      await("the batch ends with dead letters")
          .atMost(Duration.ofSeconds(180))
          .until(
              () -> phase(namespace, "con-caidas") == AutomationBatchStatus.Phase.PARTIALLY_FAILED);
      assertThat(get(namespace, "con-caidas").getStatus().counts.deadLettered).isEqualTo(4);

      // A page of 3, then the rest after its cursor; the error says what the portal answered.
      var first = JSON.readTree(send(viewer, "GET", "dead-letters?limit=3").body());
      assertThat(keys(first)).containsExactly("reenvio-0", "reenvio-10", "reenvio-15");
      assertThat(first.get("items").get(0).get("attempts").asInt()).isEqualTo(2);
      assertThat(first.get("items").get(0).get("lastError").asText()).contains("503");
      var rest =
          JSON.readTree(
              send(viewer, "GET", "dead-letters?limit=3&after=" + first.get("next").asText())
                  .body());
      assertThat(keys(rest)).containsExactly("reenvio-5");
      assertThat(rest.get("next").isNull()).isTrue();
      var badLimit = send(viewer, "GET", "dead-letters?limit=0");
      assertThat(badLimit.statusCode()).isEqualTo(400);
      assertThat(JSON.readTree(badLimit.body()).get("field").asText()).isEqualTo("limit");

      // A viewer may read them, not redrive them.
      assertThat(send(viewer, "POST", "dead-letters:redrive").statusCode()).isEqualTo(403);
      down.set(false);
      var redrive = send(owner, "POST", "dead-letters:redrive");
      assertThat(redrive.statusCode()).as(redrive.body()).isEqualTo(202);
      assertThat(JSON.readTree(redrive.body()).get("redriveGeneration").asLong()).isEqualTo(1);
      await("the redriven tickets are invoiced")
          .atMost(Duration.ofSeconds(180))
          .until(() -> phase(namespace, "con-caidas") == AutomationBatchStatus.Phase.SUCCEEDED);
      var status = get(namespace, "con-caidas").getStatus();
      assertThat(status.redrivenGeneration).isEqualTo(1L);
      assertThat(status.lastRedrive.tickets).isEqualTo(4);
      assertThat(status.counts.succeeded).isEqualTo(20);
      assertThat(status.counts.deadLettered).isZero();
      assertThat(invoiced).hasSize(20);
      assertThat(invoiced.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
      assertThat(JSON.readTree(send(viewer, "GET", "dead-letters").body()).get("items")).isEmpty();

      // Another generation finds nothing to requeue: the batch stays finished.
      assertThat(send(owner, "POST", "dead-letters:redrive").statusCode()).isEqualTo(202);
      await("the second redrive is carried out")
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                var current = get(namespace, "con-caidas").getStatus();
                return current != null && Long.valueOf(2L).equals(current.redrivenGeneration);
              });
      var again = get(namespace, "con-caidas").getStatus();
      assertThat(again.lastRedrive.tickets).isZero();
      assertThat(again.phase).isEqualTo(AutomationBatchStatus.Phase.SUCCEEDED);
      assertThat(invoiced.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
      assertThatThrownBy(
              () -> patch(namespace, "con-caidas", "{\"spec\": {\"redriveGeneration\": 1}}"))
          .isInstanceOf(io.fabric8.kubernetes.client.KubernetesClientException.class)
          .hasMessageContaining("redriveGeneration only goes up");
    } finally {
      portal.stop(0);
    }
  }

  private interface Answer {
    int status(com.sun.net.httpserver.HttpExchange exchange);
  }

  /** A portal on loopback answering {@code answer}; it counts each key it invoiced (201). */
  private static HttpServer portal(Answer answer, ConcurrentHashMap<String, AtomicInteger> invoiced)
      throws Exception {
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          var status = answer.status(exchange);
          if (status == 201) {
            invoiced
                .computeIfAbsent(
                    exchange.getRequestHeaders().getFirst("Idempotency-Key"),
                    k -> new AtomicInteger())
                .incrementAndGet();
          }
          exchange.sendResponseHeaders(status, -1);
          exchange.close();
        });
    portal.setExecutor(Executors.newFixedThreadPool(4));
    portal.start();
    return portal;
  }

  /** A Tenant whose owner is ServiceAccount ops of its namespace; returns the namespace. */
  private String tenant(String name) {
    var tenant = new Tenant();
    tenant.setMetadata(new ObjectMetaBuilder().withName(name).build());
    var spec = new TenantSpec();
    spec.setTier(Tier.ENTERPRISE);
    spec.setOwners(
        List.of(new TenantOwner(TenantOwner.Kind.ServiceAccount, "ops", "tenant-" + name)));
    tenant.setSpec(spec);
    client.resource(tenant).create();
    var namespace = TestTenants.awaitReady(client, name);
    LocalCluster.get().kubectl("create", "serviceaccount", "ops", "-n", namespace);
    return namespace;
  }

  private static AutomationBatch batch(
      String namespace, String name, int tickets, int maxAttempts, HttpServer portal) {
    var batch = new AutomationBatch();
    batch.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.url = "http://127.0.0.1:" + portal.getAddress().getPort() + "/facturas";
    spec.parallelism = 2;
    spec.maxAttempts = maxAttempts;
    spec.backoff.initial = "100ms";
    spec.backoff.max = "200ms";
    var prefix = namespace.substring("tenant-".length());
    spec.items =
        IntStream.range(0, tickets)
            .mapToObj(
                i -> {
                  var item = new AutomationBatchSpec.Item();
                  item.key = prefix + "-" + i;
                  item.payload = JSON.createObjectNode().put("folio", i);
                  return item;
                })
            .toList();
    batch.setSpec(spec);
    return batch;
  }

  private void patch(String namespace, String name, String mergePatch) {
    client
        .resources(AutomationBatch.class)
        .inNamespace(namespace)
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  /** Its phase; null before its first status. */
  private AutomationBatchStatus.Phase phase(String namespace, String name) {
    var status = get(namespace, name).getStatus();
    return status == null ? null : status.phase;
  }

  private AutomationBatch get(String namespace, String name) {
    return client.resources(AutomationBatch.class).inNamespace(namespace).withName(name).get();
  }

  /** A call to the batch API about batch con-caidas of tenant reenvio. */
  private HttpResponse<String> send(String token, String method, String path) throws Exception {
    return call(token, method, "tenant-reenvio", "con-caidas", path);
  }

  private HttpResponse<String> call(
      String token, String method, String namespace, String batch, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(api + "/" + namespace + "/batches/" + batch + "/" + path))
            .header("Authorization", "Bearer " + token)
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> keys(JsonNode page) {
    return java.util.stream.StreamSupport.stream(page.get("items").spliterator(), false)
        .map(item -> item.get("key").asText())
        .toList();
  }

  private static io.fabric8.kubernetes.api.model.Condition condition(
      AutomationBatchStatus status, String type) {
    return status.conditions.stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElseThrow();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
