package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.localnode.ExamplePortals;
import dev.robusto.localnode.LocalNode;
import dev.robusto.merchant.Merchant;
import dev.robusto.merchant.MerchantSpec;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
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
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The ticket API as a client of the platform uses it, with real workers and portals on loopback:
 * tickets submitted on v1 and v2 are invoiced once each, v2's answers carry every field of v1's
 * with the same value, v1's answers announce their deprecation, bad requests are RFC 9457 problems
 * naming the field at fault, jobs page by cursor, a tenant sees only its own tickets, and the
 * migration report names who still calls v1.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class InvoicingIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TestHTTPResource("/invoicing")
  URL api;

  @TestHTTPResource("/q/metrics")
  URL metrics;

  private final KubernetesClient client = LocalCluster.get().client();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aClientSubmitsOnV1AndV2AndReadsTheSameTicketsOnBoth() throws Exception {
    var namespace = tenant("factura");
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    var portal = portal(invoiced);
    merchant(namespace, "oxxo", portal);
    var caja = token("caja", namespace);
    try (var node =
        new LocalNode(client, namespace, "robusto-operator:dev", WorkerProcesses.LOGS)) {
      // v1: one ticket, announced as deprecated with its successor.
      var first = call(caja, "POST", "/v1/tickets", ticket("F-1", "oxxo", 100));
      assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
      assertThat(body(first).get("state").asText()).isEqualTo("pendiente");
      assertThat(first.headers().firstValue("Deprecation"))
          .contains(
              "@" + LocalDate.parse("2026-12-01").atStartOfDay(ZoneOffset.UTC).toEpochSecond());
      assertThat(first.headers().firstValue("Sunset")).contains("Wed, 30 Jun 2027 00:00:00 GMT");
      assertThat(first.headers().firstValue("Link"))
          .contains("</invoicing/v2/tickets>; rel=\"successor-version\"");
      // A client library's own Idempotency-Key on every POST: v1 ignores it, as it always has.
      var again =
          call(
              caja,
              "POST",
              "/v1/tickets",
              ticket("F-1", "oxxo", 100),
              "Idempotency-Key",
              "9b7e0c1e-aleatoria");
      assertThat(again.statusCode()).isEqualTo(200);
      assertThat(again.headers().firstValue("Idempotent-Replayed")).contains("true");
      var other = call(caja, "POST", "/v1/tickets", ticket("F-1", "oxxo", 999));
      assertProblem(other, 422, "id");

      // v2: one ticket and a bulk of four, with no deprecation.
      var second = call(caja, "POST", "/v2/tickets", ticket("F-2", "oxxo", 200));
      assertThat(second.statusCode()).as(second.body()).isEqualTo(201);
      assertThat(second.headers().firstValue("Deprecation")).isEmpty();
      // An Idempotency-Key header is the ticket's id: a retry sending it alone is the same ticket.
      var retried =
          call(
              caja,
              "POST",
              "/v2/tickets",
              JSON.writeValueAsString(
                  Map.of("merchant", "oxxo", "data", Map.of("total", 200, "rfc", "XAXX010101000"))),
              "Idempotency-Key",
              "F-2");
      assertThat(retried.statusCode()).as(retried.body()).isEqualTo(200);
      assertThat(retried.headers().firstValue("Idempotent-Replayed")).contains("true");
      assertThat(body(retried).get("id").asText()).isEqualTo("F-2");
      assertProblem(
          call(caja, "POST", "/v2/tickets", ticket("F-2", "oxxo", 200), "Idempotency-Key", "F-9"),
          400,
          "Idempotency-Key");
      var tickets = new ArrayList<Map<String, Object>>();
      for (var i = 3; i <= 6; i++) {
        tickets.add(Map.of("id", "F-" + i, "data", Map.of("folio", i, "total", 100 * i)));
      }
      var bulk =
          call(
              caja,
              "POST",
              "/v2/bulk",
              JSON.writeValueAsString(
                  Map.of("merchant", "oxxo", "priority", "alta", "tickets", tickets)),
              "Idempotency-Key",
              "corte-1");
      assertThat(bulk.statusCode()).as(bulk.body()).isEqualTo(201);
      assertThat(body(bulk).get("tickets").asInt()).isEqualTo(4);

      await("every ticket invoiced")
          .atMost(Duration.ofSeconds(120))
          .until(
              () ->
                  List.of("F-1", "F-2", "F-3", "F-4", "F-5", "F-6").stream()
                      .allMatch(id -> "completado".equals(state(caja, id))));
      assertThat(invoiced).hasSize(6);
      assertThat(invoiced.values()).allSatisfy(n -> assertThat(n.get()).isOne());

      // v2 is a superset of v1, field by field, on the same tickets.
      for (var id : List.of("F-1", "F-2", "F-3", "F-6")) {
        var v1 = body(call(caja, "GET", "/v1/tickets/" + id, null));
        var v2 = body(call(caja, "GET", "/v2/tickets/" + id, null));
        v1.fieldNames()
            .forEachRemaining(f -> assertThat(v2.get(f)).as(id + "." + f).isEqualTo(v1.get(f)));
        assertThat(v2.size()).as("v2 adds fields").isGreaterThan(v1.size());
        assertThat(v2.get("attempts").asInt()).isOne();
        assertThat(v2.get("outcome").asText()).isEqualTo("succeeded");
        assertThat(v2.get("merchant").asText()).isEqualTo("oxxo");
        assertThat(v2.has("finished_at")).isTrue();
      }
      assertThat(body(call(caja, "GET", "/v2/tickets/F-3", null)).get("priority").asText())
          .isEqualTo("alta");

      // Jobs: v1's first page; v2 by state, a page at a time.
      await("the three jobs completed")
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  body(call(caja, "GET", "/v2/jobs?state=completado", null)).get("jobs").size()
                      == 3);
      var v1Jobs = body(call(caja, "GET", "/v1/jobs", null)).get("jobs");
      assertThat(v1Jobs).hasSize(3);
      var page = body(call(caja, "GET", "/v2/jobs?state=completado&limit=2", null));
      assertThat(page.get("jobs")).hasSize(2);
      var next = page.get("next_cursor").asText();
      var last = body(call(caja, "GET", "/v2/jobs?state=completado&limit=2&cursor=" + next, null));
      assertThat(last.get("jobs")).hasSize(1);
      assertThat(last.has("next_cursor")).isFalse();
      var v2Jobs = new ArrayList<JsonNode>();
      page.get("jobs").forEach(v2Jobs::add);
      last.get("jobs").forEach(v2Jobs::add);
      for (var v1Job : v1Jobs) {
        var v2Job =
            v2Jobs.stream()
                .filter(j -> j.get("id").equals(v1Job.get("id")))
                .findFirst()
                .orElseThrow();
        v1Job
            .fieldNames()
            .forEachRemaining(f -> assertThat(v2Job.get(f)).as("job." + f).isEqualTo(v1Job.get(f)));
      }
      assertThat(body(call(caja, "GET", "/v2/jobs?state=en_progreso", null)).get("jobs")).isEmpty();

      // Bad requests say which field to fix.
      assertProblem(
          call(caja, "POST", "/v2/tickets", ticket("F-7", "litro-mil", 1)), 422, "merchant");
      assertProblem(call(caja, "POST", "/v2/tickets", ticket("F-3", "oxxo", 1)), 422, "id");
      assertProblem(
          call(
              caja,
              "POST",
              "/v2/bulk",
              "{\"merchant\": \"oxxo\", \"tickets\": [{\"id\": \"F-9\"}, {\"id\": \"F-4\"}]}",
              "Idempotency-Key",
              "corte-2"),
          422,
          "tickets[1].id");
      var heavy =
          JSON.writeValueAsString(
              Map.of("id", "F-8", "merchant", "oxxo", "data", Map.of("xml", "x".repeat(70_000))));
      assertProblem(call(caja, "POST", "/v2/tickets", heavy), 413, "data");
      assertProblem(call(caja, "GET", "/v2/jobs?state=terminado", null), 400, "state");
      assertProblem(call(caja, "GET", "/v2/jobs?cursor=not-ours", null), 400, "cursor");
      assertProblem(call(caja, "GET", "/v2/tickets/F-404", null), 404, "id");
      assertProblem(
          call(
              caja, "POST", "/v2/bulk", "{\"merchant\": \"oxxo\", \"tickets\": [{\"id\": \"x\"}]}"),
          400,
          "Idempotency-Key");

      // Another tenant's client sees nothing of this one.
      var vecino = token("caja", tenant("vecina"));
      assertThat(call(vecino, "GET", "/v2/tickets/F-1", null).statusCode())
          .as("its own tenant has no F-1")
          .isEqualTo(404);
      assertThat(call(vecino, "GET", "/v2/tickets/F-1?namespace=" + namespace, null).statusCode())
          .isEqualTo(403);

      // Who still calls v1: the report names caja and its endpoints; tenants may not read it.
      assertThat(call(caja, "GET", "/v2/migration-report", null).statusCode()).isEqualTo(403);
      LocalCluster.get().kubectl("create", "serviceaccount", "plataforma", "-n", "default");
      LocalCluster.get()
          .kubectl(
              "create",
              "clusterrolebinding",
              "plataforma-migracion",
              "--clusterrole=robusto-operator-api-migration-reader",
              "--serviceaccount=default:plataforma");
      var admin =
          LocalCluster.get().kubectl("create", "token", "plataforma", "-n", "default").strip();
      await("the report counts v1's calls")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                var report = body(call(admin, "GET", "/v2/migration-report", null));
                var callers = report.get("v1_callers");
                assertThat(callers).hasSize(1);
                var v1Caller = callers.get(0);
                assertThat(v1Caller.get("caller").asText())
                    .isEqualTo("system:serviceaccount:" + namespace + ":caja");
                assertThat(v1Caller.get("namespace").asText()).isEqualTo(namespace);
                assertThat(v1Caller.get("endpoints").get("POST /tickets").asLong()).isEqualTo(3);
                assertThat(v1Caller.get("endpoints").get("GET /tickets/{id}").asLong())
                    .isPositive();
                assertThat(v1Caller.get("endpoints").get("GET /jobs").asLong()).isOne();
                assertThat(report.get("v2_calls").asLong()).isPositive();
              });

      // The platform's metric counts calls by version, endpoint and status class, never by caller.
      var before = apiRequests();
      call(caja, "GET", "/v1/tickets/F-1", null);
      call(caja, "GET", "/v1/tickets/F-1", null);
      call(caja, "GET", "/v2/tickets/F-404", null);
      var after = apiRequests();
      assertThat(after.keySet())
          .allSatisfy(
              labels ->
                  assertThat(labels.keySet())
                      .containsExactlyInAnyOrder("version", "endpoint", "code"));
      var v1Reads = Map.of("version", "v1", "endpoint", "GET /tickets/{id}", "code", "2xx");
      var v2Misses = Map.of("version", "v2", "endpoint", "GET /tickets/{id}", "code", "4xx");
      assertThat(after.get(v1Reads) - before.getOrDefault(v1Reads, 0.0)).isEqualTo(2.0);
      assertThat(after.get(v2Misses) - before.getOrDefault(v2Misses, 0.0)).isEqualTo(1.0);

      // Merchants: created and listed on both versions, v2 a superset; a bad URL names its field.
      var created =
          call(
              caja,
              "POST",
              "/v1/merchants",
              "{\"name\": \"simple-portal\", \"spec\": {\"url\": \"https://portal.example/cfdi\", \"captchaSolving\": true}}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      assertProblem(
          call(
              caja,
              "POST",
              "/v2/merchants",
              "{\"name\": \"mal\", \"spec\": {\"url\": \"https://u:p@portal.example\"}}"),
          422,
          "spec.url");
      var v1Merchants = body(call(caja, "GET", "/v1/merchants", null)).get("merchants");
      var v2Merchants = body(call(caja, "GET", "/v2/merchants", null)).get("merchants");
      assertThat(v1Merchants).hasSize(2);
      for (int i = 0; i < v1Merchants.size(); i++) {
        var v1Merchant = v1Merchants.get(i);
        var v2Merchant = v2Merchants.get(i);
        v1Merchant
            .fieldNames()
            .forEachRemaining(
                f ->
                    assertThat(v2Merchant.get(f)).as("merchant." + f).isEqualTo(v1Merchant.get(f)));
      }
      assertThat(v2Merchants.get(1).get("captcha_solving").asBoolean()).isTrue();

      // Health and the tenant's figures.
      assertThat(body(call(caja, "GET", "/v2/health", null)).get("status").asText())
          .isEqualTo("UP");
      var metrics = body(call(caja, "GET", "/v2/metrics", null));
      assertThat(metrics.get("tenant").asText()).isEqualTo("factura");
      assertThat(metrics.get("max_daily_jobs").asInt()).isEqualTo(1000);
      assertThat(metrics.get("admitted_today").asInt()).isEqualTo(6);

      // A job with its own settings, followed on its stream to the end.
      var spec =
          Map.of(
              "priority",
              "urgente",
              "parallelism",
              2,
              "processor",
              Map.of("http", Map.of("merchant", "oxxo")),
              "items",
              List.of(Map.of("key", "J-1"), Map.of("key", "J-2"), Map.of("key", "J-3")));
      var job =
          call(
              caja,
              "POST",
              "/v2/jobs",
              JSON.writeValueAsString(spec),
              "Idempotency-Key",
              "trabajo-1");
      assertThat(job.statusCode()).as(job.body()).isEqualTo(201);
      var lines = follow(caja, body(job).get("stream").asText());
      assertThat(lines).contains("event:done");
      assertThat(lastData(lines)).contains("\"succeeded\":3");
      assertThat(invoiced).containsKeys("J-1", "J-2", "J-3");
      // A command runs programs in the tenant's pods: its own permission, which caja lacks.
      var command =
          Map.of(
              "processor",
              Map.of("command", Map.of("command", List.of("sh", "-c", "true"))),
              "items",
              List.of(Map.of("key", "C-1")));
      assertThat(
              call(
                      caja,
                      "POST",
                      "/v2/jobs",
                      JSON.writeValueAsString(command),
                      "Idempotency-Key",
                      "c-1")
                  .statusCode())
          .isEqualTo(403);
    } finally {
      portal.stop(0);
    }
  }

  /**
   * A client's day with the seeds' three test merchants (ExamplePortals, on loopback): Litro Mil
   * tickets one by one on v1 while its credential is half rotated, an OXXO bulk on v2 followed on
   * its stream, then a Simple Portal job paused (one waiting ticket cancelled), resumed into an
   * outage, and redriven once the portal is back; every ticket read on both versions, each invoiced
   * once, as the portals count.
   */
  @Test
  void aClientsDayWithTheSeedsThreeMerchantsInvoicesEveryTicketOnce() throws Exception {
    var namespace = tenant("jornada");
    var caja = token("caja", namespace);
    try (var portals = new ExamplePortals(0).start();
        var node = new LocalNode(client, namespace, "robusto-operator:dev", WorkerProcesses.LOGS)) {
      var portalsUrl = "http://127.0.0.1:" + portals.port();
      merchant(
          namespace, "oxxo", portalsUrl + "/oxxo/facturas", "oxxo-demo-2026", "oxxo-demo-2026", 5);
      // Last year's credential still in primary: the rotation is half done.
      merchant(
          namespace,
          "litro-mil",
          portalsUrl + "/litro-mil/facturas",
          "litro-mil-demo-2025",
          "litro-mil-demo-2026",
          5);
      // The drill wants dead letters, not an open circuit.
      merchant(
          namespace,
          "simple-portal",
          portalsUrl + "/simple-portal/facturas",
          "simple-portal-demo-2026",
          "simple-portal-demo-2026",
          100);

      // v1: Litro Mil, one ticket at a time; the last one's RFC is not one.
      for (var i = 1; i <= 4; i++) {
        var answer =
            call(
                caja,
                "POST",
                "/v1/tickets",
                JSON.writeValueAsString(
                    Map.of(
                        "id",
                        "L-" + i,
                        "merchant",
                        "litro-mil",
                        "data",
                        Map.of("rfc", i < 4 ? "XAXX010101000" : "NO-ES-RFC", "total", 50 * i))));
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
      }
      // v2: an OXXO bulk, followed on its events to the end.
      var tickets = new ArrayList<Map<String, Object>>();
      for (var i = 1; i <= 10; i++) {
        tickets.add(
            Map.of("id", "O-" + i, "data", Map.of("rfc", "XAXX010101000", "total", 10 * i)));
      }
      var bulk =
          call(
              caja,
              "POST",
              "/v2/bulk",
              JSON.writeValueAsString(Map.of("merchant", "oxxo", "tickets", tickets)),
              "Idempotency-Key",
              "corte-oxxo");
      assertThat(bulk.statusCode()).as(bulk.body()).isEqualTo(201);
      var bulkEvents = follow(caja, body(bulk).get("events").asText());
      assertThat(bulkEvents).contains("event:done");
      assertThat(lastData(bulkEvents)).contains("\"succeeded\":10");
      await("the Litro Mil tickets ended")
          .atMost(Duration.ofSeconds(120))
          .until(
              () ->
                  List.of("L-1", "L-2", "L-3", "L-4").stream()
                      .map(id -> state(caja, id))
                      .allMatch(s -> "completado".equals(s) || "fallido".equals(s)));

      // v2: a Simple Portal job, paused mid-way.
      var items = new ArrayList<Map<String, Object>>();
      for (var i = 0; i < 20; i++) {
        items.add(Map.of("key", "S-" + i, "payload", Map.of("rfc", "XAXX010101000")));
      }
      var spec =
          Map.of(
              "parallelism",
              1,
              "maxAttempts",
              6,
              "backoff",
              Map.of("initial", "100ms", "max", "200ms"),
              "processor",
              Map.of("http", Map.of("merchant", "simple-portal")),
              "items",
              items);
      var submitted =
          body(
              call(
                  caja,
                  "POST",
                  "/v2/jobs",
                  JSON.writeValueAsString(spec),
                  "Idempotency-Key",
                  "simple-1"));
      var job = submitted.get("job").asText();
      await("some Simple Portal tickets invoiced")
          .atMost(Duration.ofSeconds(120))
          .until(() -> stats(portalsUrl, "simple-portal").get("invoiced").asInt() >= 3);
      var paused = call(caja, "POST", "/v2/jobs/" + job + ":pause", null);
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(202);
      await("the job reads pausado and its workers are gone")
          .atMost(Duration.ofSeconds(60))
          .until(() -> jobState(caja, job).equals("pausado") && node.running() == 0);
      var whenPaused = stats(portalsUrl, "simple-portal").get("invoiced").asInt();
      var waiting =
          java.util.stream.IntStream.range(0, 20)
              .mapToObj(i -> "S-" + i)
              .filter(id -> "pausado".equals(state(caja, id)))
              .findFirst()
              .orElseThrow();
      assertThat(body(call(caja, "GET", "/v2/tickets/" + waiting, null)).get("state").asText())
          .isEqualTo("pausado");
      // One waiting ticket is taken back: cancelled, never sent; asked again, the same answer.
      var withdrawn =
          java.util.stream.IntStream.range(0, 20)
              .mapToObj(i -> "S-" + i)
              .filter(id -> !id.equals(waiting) && "pausado".equals(state(caja, id)))
              .findFirst()
              .orElseThrow();
      for (var i = 0; i < 2; i++) {
        var cancelled = call(caja, "DELETE", "/v2/tickets/" + withdrawn, null);
        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        assertThat(body(cancelled).get("outcome").asText()).isEqualTo("cancelled");
        assertThat(body(cancelled).get("state").asText()).isEqualTo("fallido");
      }
      assertProblem(call(caja, "DELETE", "/v2/tickets/O-1", null), 409, null);
      assertProblem(call(caja, "DELETE", "/v2/tickets/S-404", null), 404, "id");
      Thread.sleep(2_000);
      assertThat(stats(portalsUrl, "simple-portal").get("invoiced").asInt())
          .as("nothing invoiced while paused")
          .isEqualTo(whenPaused);

      // The portal goes down; resumed, the rest use their six attempts and are dead-lettered.
      outage(portalsUrl, "simple-portal", true);
      assertThat(call(caja, "POST", "/v2/jobs/" + job + ":resume", null).statusCode())
          .isEqualTo(202);
      await("the job ends with dead letters")
          .atMost(Duration.ofSeconds(120))
          .until(() -> jobState(caja, job).equals("completado"));
      assertThat(jobOf(caja, job).get("dead_lettered").asInt()).isEqualTo(19 - whenPaused);
      assertThat(jobOf(caja, job).get("cancelled").asInt()).isOne();
      var dead = body(call(caja, "GET", "/v2/tickets/" + waiting, null));
      assertThat(dead.get("outcome").asText()).isEqualTo("dead_lettered");
      assertThat(dead.get("last_error").asText()).isEqualTo("HTTP 503");
      assertThat(dead.get("attempts").asInt()).isEqualTo(6);
      assertThat(dead.get("job").asText()).isEqualTo(job);
      assertThat(dead.get("automation_steps"))
          .as("six attempts, each failed on the outage")
          .hasSize(6)
          .allSatisfy(
              step -> {
                assertThat(step.get("result").asText()).isEqualTo("failed");
                assertThat(step.get("detail").asText()).isEqualTo("HTTP 503");
              });

      // The portal recovers; a redrive requeues them with fresh attempts, followed to the end.
      outage(portalsUrl, "simple-portal", false);
      var redrive = call(caja, "POST", "/v2/jobs/" + job + ":redrive", null);
      assertThat(redrive.statusCode()).as(redrive.body()).isEqualTo(202);
      var jobEvents = follow(caja, submitted.get("stream").asText());
      assertThat(jobEvents).contains("event:done");
      assertThat(lastData(jobEvents)).contains("\"succeeded\":19");
      var redriven = body(call(caja, "GET", "/v2/tickets/" + waiting, null));
      assertThat(redriven.get("state").asText()).isEqualTo("completado");
      var steps = redriven.get("automation_steps");
      assertThat(steps.size()).as(steps.toString()).isGreaterThan(6);
      var last = steps.get(steps.size() - 1);
      assertThat(last.get("result").asText()).isEqualTo("succeeded");
      assertThat(last.get("attempt").asInt())
          .as("attempts count from 1 again after the redrive")
          .isEqualTo(steps.size() - 6);
      assertThat(last.get("duration_ms").asLong())
          .as("the portal takes at least 150 ms, as the worker measured")
          .isGreaterThanOrEqualTo(150);

      // Every ticket on both versions: v2 a superset of v1, field by field.
      var ids = new ArrayList<String>(List.of("L-1", "L-2", "L-3", "L-4"));
      java.util.stream.IntStream.rangeClosed(1, 10).forEach(i -> ids.add("O-" + i));
      java.util.stream.IntStream.range(0, 20).forEach(i -> ids.add("S-" + i));
      for (var id : ids) {
        var v1 = body(call(caja, "GET", "/v1/tickets/" + id, null));
        var v2 = body(call(caja, "GET", "/v2/tickets/" + id, null));
        v1.fieldNames()
            .forEachRemaining(f -> assertThat(v2.get(f)).as(id + "." + f).isEqualTo(v1.get(f)));
        assertThat(v1.get("state").asText())
            .as(id)
            .isEqualTo(id.equals("L-4") || id.equals(withdrawn) ? "fallido" : "completado");
      }
      var refused = body(call(caja, "GET", "/v2/tickets/L-4", null));
      assertThat(refused.get("outcome").asText()).isEqualTo("failed");
      assertThat(refused.get("automation_steps")).hasSize(1);
      assertThat(refused.get("automation_steps").get(0).get("result").asText())
          .isEqualTo("refused");

      // What the portals counted: each ticket invoiced once; Litro Mil refused the old credential,
      // and no ticket failed for it.
      var oxxo = stats(portalsUrl, "oxxo");
      var litroMil = stats(portalsUrl, "litro-mil");
      var simple = stats(portalsUrl, "simple-portal");
      assertThat(oxxo.get("invoiced").asInt()).isEqualTo(10);
      assertThat(litroMil.get("invoiced").asInt()).isEqualTo(3);
      assertThat(litroMil.get("refused").asInt()).isEqualTo(1);
      assertThat(litroMil.get("unauthorized").asInt()).isPositive();
      assertThat(simple.get("invoiced").asInt()).as("all but the cancelled one").isEqualTo(19);
      assertThat(List.of(oxxo, litroMil, simple))
          .allSatisfy(counts -> assertThat(counts.get("invoicedTwice").asInt()).isZero());
      await("Litro Mil's status names the fallback credential")
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  "Fallback"
                      .equals(
                          body(call(caja, "GET", "/v2/merchants", null))
                              .get("merchants")
                              .get(0)
                              .path("credential_in_use")
                              .asText()));

      // Another tenant's client can neither read nor control any of it.
      var vecino = token("caja", tenant("jornada-vecina"));
      assertThat(call(vecino, "GET", "/v2/tickets/S-0?namespace=" + namespace, null).statusCode())
          .isEqualTo(403);
      assertThat(
              call(vecino, "POST", "/v2/jobs/" + job + ":pause?namespace=" + namespace, null)
                  .statusCode())
          .isEqualTo(403);
    }
  }

  /** The events of a job's stream from now to its end (the stream closes when it is done). */
  private List<String> follow(String token, String path) {
    return await("the job is queued and streams")
        .atMost(Duration.ofSeconds(180))
        .until(
            () ->
                http.send(
                    HttpRequest.newBuilder(
                            URI.create(api.toString().replace("/invoicing", "") + path))
                        .header("Authorization", "Bearer " + token)
                        .build(),
                    HttpResponse.BodyHandlers.ofLines()),
            r -> r.statusCode() == 200)
        .body()
        .toList();
  }

  private static String lastData(List<String> events) {
    return events.stream().filter(l -> l.startsWith("data:")).reduce((a, b) -> b).orElseThrow();
  }

  private JsonNode stats(String portalsUrl, String portal) throws Exception {
    return JSON.readTree(
        http.send(
                HttpRequest.newBuilder(URI.create(portalsUrl + "/" + portal + "/stats")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body());
  }

  private void outage(String portalsUrl, String portal, boolean down) throws Exception {
    var answer =
        http.send(
            HttpRequest.newBuilder(URI.create(portalsUrl + "/" + portal + "/outage"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"down\": " + down + "}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
  }

  private JsonNode jobOf(String token, String job) throws Exception {
    var jobs = body(call(token, "GET", "/v2/jobs", null)).get("jobs");
    for (var j : jobs) {
      if (j.get("id").asText().equals(job)) {
        return j;
      }
    }
    throw new AssertionError("no job " + job + " in " + jobs);
  }

  private String jobState(String token, String job) throws Exception {
    return jobOf(token, job).get("state").asText();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private String state(String token, String id) {
    try {
      var answer = call(token, "GET", "/v1/tickets/" + id, null);
      return answer.statusCode() == 200 ? body(answer).get("state").asText() : null;
    } catch (Exception e) {
      return null;
    }
  }

  private static void assertProblem(HttpResponse<String> answer, int status, String field)
      throws Exception {
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
    assertThat(answer.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("application/problem+json"));
    var problem = JSON.readTree(answer.body());
    assertThat(problem.get("status").asInt()).isEqualTo(status);
    if (field == null) {
      assertThat(problem.has("field")).as("names no field").isFalse();
    } else {
      assertThat(problem.get("field").asText()).isEqualTo(field);
    }
    assertThat(problem.get("detail").asText()).isNotBlank();
  }

  private static String ticket(String id, String merchant, int total) throws Exception {
    return JSON.writeValueAsString(
        Map.of(
            "id",
            id,
            "merchant",
            merchant,
            "data",
            Map.of("total", total, "rfc", "XAXX010101000")));
  }

  private HttpResponse<String> call(
      String token, String method, String path, String body, String... headers) throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create(api + path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** robusto_api_requests_total from the operator's Prometheus endpoint, by its labels. */
  private Map<Map<String, String>, Double> apiRequests() throws Exception {
    var text =
        http.send(
                HttpRequest.newBuilder(metrics.toURI()).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    var label = java.util.regex.Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    var samples = new java.util.HashMap<Map<String, String>, Double>();
    for (var line : text.split("\n")) {
      if (!line.startsWith("robusto_api_requests_total{")) {
        continue;
      }
      var labels = new java.util.HashMap<String, String>();
      var matcher = label.matcher(line.substring(0, line.lastIndexOf('}')));
      while (matcher.find()) {
        labels.put(matcher.group(1), matcher.group(2));
      }
      samples.put(
          Map.copyOf(labels), Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
    }
    return samples;
  }

  private static JsonNode body(HttpResponse<String> answer) throws Exception {
    return JSON.readTree(answer.body());
  }

  /** A Tenant whose owner is ServiceAccount caja of its namespace; returns the namespace. */
  private String tenant(String name) {
    return TestTenants.ownedByCaja(client, name, Tier.ENTERPRISE);
  }

  private static String token(String serviceAccount, String namespace) {
    return LocalCluster.get().kubectl("create", "token", serviceAccount, "-n", namespace).strip();
  }

  private void merchant(String namespace, String name, HttpServer portal) {
    var merchant = new Merchant();
    merchant.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    merchant.setSpec(new MerchantSpec());
    merchant.getSpec().url = "http://127.0.0.1:" + portal.getAddress().getPort() + "/facturas";
    client.resource(merchant).create();
  }

  /** A Merchant whose credentials are {@code primary} and {@code fallback}, in its own Secret. */
  private void merchant(
      String namespace, String name, String url, String primary, String fallback, int failures) {
    client
        .resource(
            new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata()
                .withName(name + "-portal")
                .withNamespace(namespace)
                .endMetadata()
                .addToStringData("primary", primary)
                .addToStringData("fallback", fallback)
                .build())
        .create();
    var merchant = new Merchant();
    merchant.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    merchant.setSpec(new MerchantSpec());
    merchant.getSpec().url = url;
    merchant.getSpec().circuitBreaker.failures = failures;
    merchant.getSpec().credentials = new MerchantSpec.Credentials();
    merchant.getSpec().credentials.secretName = name + "-portal";
    client.resource(merchant).create();
  }

  private static HttpServer portal(ConcurrentHashMap<String, AtomicInteger> invoiced)
      throws Exception {
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          invoiced
              .computeIfAbsent(
                  exchange.getRequestHeaders().getFirst("Idempotency-Key"),
                  k -> new AtomicInteger())
              .incrementAndGet();
          exchange.sendResponseHeaders(201, -1);
          exchange.close();
        });
    portal.start();
    return portal;
  }
}
