package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantOwner;
import dev.robusto.tenant.TenantSpec;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The batch API against the local cluster: callers authenticate with their Kubernetes token and get
 * what their RBAC allows; submissions are idempotent; progress streams as Server-Sent Events and
 * resumes from Last-Event-ID.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class BatchApiIT {

  private static final String NAMESPACE = "tenant-api";

  @TestHTTPResource("/api/v1/namespaces/tenant-api/batches")
  URL batches;

  private final KubernetesClient client = LocalCluster.get().client();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aSubmissionIsIdempotentAuthorizedAndItsProgressStreamsToTheEnd() throws Exception {
    var tenant = new Tenant();
    tenant.setMetadata(new ObjectMetaBuilder().withName("api").build());
    var spec = new TenantSpec();
    spec.setTier(Tier.STARTUP);
    spec.setOwners(List.of(new TenantOwner(TenantOwner.Kind.ServiceAccount, "ci", NAMESPACE)));
    tenant.setSpec(spec);
    client.resource(tenant).create();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              var t = client.resources(Tenant.class).withName("api").get();
              return t.getStatus() != null
                  && t.getStatus().getConditions().stream()
                      .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
            });
    var cluster = LocalCluster.get();
    cluster.kubectl("create", "serviceaccount", "ci", "-n", NAMESPACE);
    cluster.kubectl("create", "serviceaccount", "otro", "-n", NAMESPACE);
    var owner = cluster.kubectl("create", "token", "ci", "-n", NAMESPACE).strip();
    var outsider = cluster.kubectl("create", "token", "otro", "-n", NAMESPACE).strip();
    var body = spec(30);

    assertThat(submit(null, "lote-1", body).statusCode()).isEqualTo(401);
    var forbidden = submit(outsider, "lote-1", body);
    assertThat(forbidden.statusCode()).isEqualTo(403);
    assertThat(forbidden.body())
        .contains("system:serviceaccount:tenant-api:otro may not create automationbatches");
    var keyless = submit(owner, null, body);
    assertThat(keyless.statusCode()).isEqualTo(400);
    // RFC 9457 problem details, naming the field at fault.
    assertThat(keyless.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    var problem = new ObjectMapper().readTree(keyless.body());
    assertThat(problem.get("status").asInt()).isEqualTo(400);
    assertThat(problem.get("title").asText()).isEqualTo("Bad Request");
    assertThat(problem.get("detail").asText()).startsWith("Send an Idempotency-Key header");
    assertThat(problem.get("field").asText()).isEqualTo("Idempotency-Key");

    var created = submit(owner, "lote-1", body);
    assertThat(created.statusCode()).isEqualTo(201);
    var name = new ObjectMapper().readTree(created.body()).get("name").asText();
    var retried = submit(owner, "lote-1", body);
    assertThat(retried.statusCode()).as("a retried request creates nothing").isEqualTo(200);
    assertThat(retried.headers().firstValue("Idempotent-Replayed")).contains("true");
    assertThat(new ObjectMapper().readTree(retried.body()).get("name").asText()).isEqualTo(name);
    assertThat(client.resources(AutomationBatch.class).inNamespace(NAMESPACE).list().getItems())
        .hasSize(1);
    var reused = submit(owner, "lote-1", spec(31));
    assertThat(reused.statusCode()).isEqualTo(422);
    assertThat(reused.body()).contains("This Idempotency-Key was used for a different request");
    var invalid = submit(owner, "lote-2", "{\"parallelism\": 0, \"items\": [{\"key\": \"a\"}]}");
    assertThat(invalid.statusCode()).isEqualTo(422);
    assertThat(invalid.body()).contains("processor");
    assertThat(new ObjectMapper().readTree(invalid.body()).get("field").asText())
        .as("the API server's validation names it")
        .startsWith("spec");

    try (var kubelet =
        new LocalNode(client, NAMESPACE, "robusto-operator:dev", WorkerProcesses.LOGS)) {
      var first = events(owner, name, null, 3);
      assertThat(first).as("the first events of the stream").hasSizeGreaterThanOrEqualTo(1);
      var resumeFrom = first.get(first.size() - 1).id();
      var rest = events(owner, name, resumeFrom, Integer.MAX_VALUE);
      assertThat(rest).isNotEmpty();
      assertThat(rest.get(0).id())
          .as("a resumed stream starts after the last event seen")
          .isGreaterThan(resumeFrom);
      var last = rest.get(rest.size() - 1);
      assertThat(last.type()).isEqualTo("done");
      assertThat(last.id()).isEqualTo(30);
      assertThat(last.data()).contains("\"succeeded\":30").contains("\"phase\":\"Succeeded\"");
      var ids = rest.stream().map(Event::id).toList();
      assertThat(ids).isSorted();
      assertThat(kubelet.running()).isZero();
    }
    var denied =
        http.send(
            HttpRequest.newBuilder(URI.create(batches + "/" + name + "/events"))
                .header("Authorization", "Bearer " + outsider)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(denied.statusCode()).isEqualTo(403);

    // What the 30 tickets cost: the usage API for the tenant's owners, and the Tenant's status.
    var bill = usage(owner, "api", "");
    assertThat(bill.statusCode()).as(bill.body()).isEqualTo(200);
    var figures = new ObjectMapper().readTree(bill.body());
    assertThat(figures.get("succeeded").asLong()).isEqualTo(30);
    assertThat(figures.get("costMxn").asText())
        .as("30 tickets at the startup tier's 1.50")
        .isEqualTo("45.0000");
    assertThat(figures.get("days").get(0).get("admitted").asInt()).isEqualTo(30);
    assertThat(usage(outsider, "api", "").statusCode()).isEqualTo(403);
    assertThat(usage(owner, "no-such-tenant", "").statusCode())
        .as("an unknown tenant is asked about cluster-wide: not an owner's to know")
        .isEqualTo(403);
    var badDay = usage(owner, "api", "?from=diciembre");
    assertThat(badDay.statusCode()).isEqualTo(400);
    assertThat(badDay.body()).contains("from=diciembre is not a day");
    assertThat(new ObjectMapper().readTree(badDay.body()).get("field").asText()).isEqualTo("from");
    await("the Tenant's status shows today's and the month's usage")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              var now = client.resources(Tenant.class).withName("api").get().getStatus().getUsage();
              assertThat(now).isNotNull();
              assertThat(now.getSucceededThisMonth()).isEqualTo(30);
              assertThat(now.getCostThisMonthMxn()).isEqualTo("45.0000");
              assertThat(now.getAdmittedToday()).isEqualTo(30);
              assertThat(now.getMaxDailyJobs()).isEqualTo(100);
            });

    // A command runs programs in the tenant's pods: 'edit' in the namespace is not enough, through
    // the API or kubectl; the chart's -command ClusterRole, bound there, is.
    var command =
        "{\"processor\": {\"command\": {\"command\": [\"true\"]}}, \"items\": [{\"key\": \"c\"}]}";
    var refused = submit(owner, "lote-3", command);
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(refused.body())
        .contains(
            "system:serviceaccount:tenant-api:ci may not create automationbatches/command in"
                + " namespace tenant-api");
    var manifest = java.nio.file.Files.createTempFile("command-batch", ".json");
    java.nio.file.Files.writeString(
        manifest,
        "{\"apiVersion\": \"robusto.dev/v1alpha1\", \"kind\": \"AutomationBatch\","
            + " \"metadata\": {\"name\": \"a-mano\", \"namespace\": \"%s\"}, \"spec\": %s}"
                .formatted(NAMESPACE, command));
    var ownerUser = "system:serviceaccount:" + NAMESPACE + ":ci";
    var byKubectl = cluster.kubectlResult("create", "-f", manifest.toString(), "--as", ownerUser);
    assertThat(byKubectl.exitCode()).isNotZero();
    assertThat(byKubectl.output())
        .contains("needs create on automationbatches/command in namespace " + NAMESPACE);
    cluster.kubectl(
        "create",
        "rolebinding",
        "ci-command",
        "-n",
        NAMESPACE,
        "--clusterrole",
        LocalCluster.RELEASE + "-command",
        "--serviceaccount",
        NAMESPACE + ":ci");
    await("the binding is seen by the authorizer")
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(submit(owner, "lote-3", command).statusCode()).isIn(200, 201));
    assertThat(
            cluster
                .kubectlResult("create", "-f", manifest.toString(), "--as", ownerUser)
                .exitCode())
        .isZero();

    // Progress streams: five open at once per caller; the sixth is told to wait.
    var queued = new ObjectMapper().readTree(submit(owner, "lote-3", command).body()).get("name");
    var open = new ArrayList<HttpResponse<java.io.InputStream>>();
    for (var i = 0; i < 5; i++) {
      var stream = stream(owner, queued.asText(), HttpResponse.BodyHandlers.ofInputStream());
      assertThat(stream.statusCode()).isEqualTo(200);
      open.add(stream);
    }
    // Read as a stream: were it let in, the test fails at once instead of waiting for its end.
    var sixth = stream(owner, queued.asText(), HttpResponse.BodyHandlers.ofInputStream());
    try (var refusal = sixth.body()) {
      assertThat(sixth.statusCode()).isEqualTo(429);
      assertThat(new String(refusal.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("has 5 progress streams open");
    }
    assertThat(sixth.headers().firstValue("Retry-After")).isPresent();
    for (var stream : open) {
      stream.body().close();
    }

    // A caller over its request rate gets 429 and when to retry; another caller is not slowed.
    var answers = new ArrayList<HttpResponse<String>>();
    for (var i = 0; i < 40; i++) {
      answers.add(submit(owner, null, body));
    }
    assertThat(answers).extracting(HttpResponse::statusCode).contains(400, 429);
    assertThat(answers.stream().filter(a -> a.statusCode() == 429).findFirst().orElseThrow())
        .satisfies(
            tooMany -> {
              assertThat(tooMany.headers().firstValue("Retry-After")).hasValue("1");
              assertThat(tooMany.body()).contains("is over its 10 requests a second");
            });
    assertThat(submit(outsider, "lote-4", body).statusCode()).isEqualTo(403);

    // A stream outlives no revocation: its ServiceAccount deleted, the next check ends it.
    cluster.kubectl("create", "serviceaccount", "visor", "-n", NAMESPACE);
    cluster.kubectl(
        "create",
        "rolebinding",
        "visor-view",
        "-n",
        NAMESPACE,
        "--clusterrole",
        "view",
        "--serviceaccount",
        NAMESPACE + ":visor");
    var visor = cluster.kubectl("create", "token", "visor", "-n", NAMESPACE).strip();
    var watching =
        await("the binding is seen by the authorizer")
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> stream(visor, queued.asText(), HttpResponse.BodyHandlers.ofInputStream()),
                r -> r.statusCode() == 200);
    cluster.kubectl("delete", "serviceaccount", "visor", "-n", NAMESPACE);
    var ended =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () -> {
              try (var in = watching.body()) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
                return true;
              } catch (java.io.IOException e) {
                return true;
              }
            });
    assertThat(
            ended.get(
                BatchEvents.REAUTHORIZE.toSeconds() + 20, java.util.concurrent.TimeUnit.SECONDS))
        .as("the stream ended within a recheck of the token's revocation")
        .isTrue();
  }

  private HttpResponse<String> usage(String token, String tenant, String query) throws Exception {
    var url = batches.toString().replace("/namespaces/" + NAMESPACE + "/batches", "/tenants/");
    return http.send(
        HttpRequest.newBuilder(URI.create(url + tenant + "/usage" + query))
            .header("Authorization", "Bearer " + token)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private <T> HttpResponse<T> stream(
      String token, String batch, HttpResponse.BodyHandler<T> handler) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(batches + "/" + batch + "/events"))
            .header("Authorization", "Bearer " + token)
            .build(),
        handler);
  }

  /** One Server-Sent Event. */
  record Event(String type, long id, String data) {}

  /** Reads up to {@code max} events, or until the server ends the stream. */
  private List<Event> events(String token, String name, Long lastEventId, int max)
      throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create(batches + "/" + name + "/events"))
            .header("Authorization", "Bearer " + token)
            .header("Accept", "text/event-stream")
            .timeout(Duration.ofSeconds(120));
    if (lastEventId != null) {
      request.header("Last-Event-ID", Long.toString(lastEventId));
    }
    var response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    var events = new ArrayList<Event>();
    try (var reader =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      String type = "message";
      long id = -1;
      var data = new StringBuilder();
      String line;
      while (events.size() < max && (line = reader.readLine()) != null) {
        if (line.isEmpty()) {
          if (data.length() > 0) {
            events.add(new Event(type, id, data.toString()));
          }
          type = "message";
          data.setLength(0);
        } else if (line.startsWith("event:")) {
          type = line.substring(6).strip();
        } else if (line.startsWith("id:")) {
          id = Long.parseLong(line.substring(3).strip());
        } else if (line.startsWith("data:")) {
          data.append(line.substring(5).strip());
        }
      }
    }
    return events;
  }

  private HttpResponse<String> submit(String token, String key, String body) throws Exception {
    var request =
        HttpRequest.newBuilder(batches.toURI())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String spec(int tickets) {
    var items =
        IntStream.range(0, tickets)
            .mapToObj(i -> "{\"key\": \"api-" + i + "\", \"payload\": {\"folio\": " + i + "}}")
            .collect(Collectors.joining(","));
    return "{\"parallelism\": 1, \"processor\": {\"simulated\": {\"meanLatency\": \"150ms\"}},"
        + " \"items\": ["
        + items
        + "]}";
  }
}
