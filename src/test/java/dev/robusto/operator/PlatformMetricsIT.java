package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.Charts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.Prometheus;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The platform's metrics as a real Prometheus scrapes them from the operator, while worker
 * processes run a batch against a portal that fails 30 % of its calls: the error-rate alert's own
 * expression goes over 0.2, the queue and the outcome counters match the database exactly, no
 * series carries a ticket's key or payload, and the series stay bounded for 150 tenants.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class PlatformMetricsIT {

  private static final String TENANT = "medidas";
  private static final int TICKETS = 200;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Metrics a dashboard or alert uses that exist only once their first event happened. */
  private static final Set<String> CREATED_ON_FIRST_USE =
      Set.of(
          "robusto_rollbacks_total", // a fleet's first rollback
          "robusto_flag_auto_disables_total", // a flag's first automatic disable
          "robusto_ofrep_evaluation_seconds_count", // the first OFREP evaluation
          "robusto_ofrep_evaluation_seconds_bucket",
          "robusto_retention_deleted_rows_total", // the first retention run (off in tests)
          "robusto_fleet_canary_weight_percent", // a fleet's first status
          "robusto_fleet_analysis_value",
          "robusto_fleet_analysis_threshold",
          "robusto_audit_anchor_timestamp_seconds", // the first anchor (timer off in tests)
          "robusto_audit_unanchored_rows",
          "robusto_tenant_circuit_breakers_open", // only while a circuit is open
          "robusto_attempts_total", // per tenant: a tenant's first attempt
          "robusto_attempt_duration_seconds_bucket");

  @TestHTTPResource("/q/metrics")
  URL metrics;

  @Inject DataSource database;

  private final KubernetesClient client = LocalCluster.get().client();
  private final HttpClient http = HttpClient.newHttpClient();
  private final Prometheus prometheus = Prometheus.get();

  @Test
  void prometheusSeesWhatTheDatabaseRecordedAndNothingATicketCarries() throws Exception {
    prometheus.scrape("operator", metrics.getPort(), metrics.getPath());
    var namespace = TestTenants.ready(client, TENANT, Tier.ENTERPRISE, null);
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    var calls = new AtomicInteger();
    var refusals = new AtomicInteger();
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    // Three calls in ten fail with 503 (they are retried), whichever ticket they carry.
    portal.createContext(
        "/facturas",
        exchange -> {
          var key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
          exchange.getRequestBody().readAllBytes();
          var failed = calls.incrementAndGet() % 10 < 3;
          if (failed) {
            refusals.incrementAndGet();
          } else {
            invoiced.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
          }
          exchange.sendResponseHeaders(failed ? 503 : 201, -1);
          exchange.close();
        });
    portal.setExecutor(Executors.newFixedThreadPool(4));
    portal.start();
    try {
      var batch = batch(namespace, portal.getAddress().getPort());
      client.resource(batch).create();

      // No worker runs yet: the admitted tickets wait, and Prometheus says how many.
      await("the tickets are admitted")
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  count(
                          "SELECT count(*) FROM automation_items WHERE state = 'pending'"
                              + " AND tenant_id = '"
                              + TENANT
                              + "'")
                      == TICKETS);
      // Other tests' tickets share the queue and may still move (an expired lease rescued, a
      // batch's items cleaned up): the leader reads the database every 2 s and Prometheus scrapes
      // it every second, so what Prometheus shows must be a count the database held in the last
      // few seconds, this tenant's 200 included.
      var held = new ArrayDeque<Map.Entry<Instant, Long>>();
      await("Prometheus's pending tickets equal the database's")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(250))
          .untilAsserted(
              () -> {
                var now = Instant.now();
                held.addLast(
                    Map.entry(
                        now,
                        count("SELECT count(*) FROM automation_items WHERE state = 'pending'")));
                held.removeIf(reading -> reading.getKey().isBefore(now.minusSeconds(6)));
                var shown = (long) query("sum(robusto_queue_tickets{state=\"pending\"})");
                assertThat(held.stream().map(Map.Entry::getValue).toList())
                    .as(
                        "pending tickets the database held in the last 6 s, against Prometheus's"
                            + " %d (its figures read %.0f s ago)",
                        shown, query("time() - max(robusto_metrics_refresh_timestamp_seconds)"))
                    .contains(shown);
              });

      var attemptsBefore = query("sum(robusto_attempts_total) or vector(0)");
      var failedBefore = query("sum(robusto_attempts_total{result=\"failed\"}) or vector(0)");
      var histogramBefore = query("sum(robusto_attempt_duration_seconds_count) or vector(0)");
      var started = Instant.now();
      try (var kubelet =
          new LocalNode(client, namespace, "robusto-operator:dev", WorkerProcesses.LOGS)) {
        await("the batch finishes")
            .atMost(Duration.ofSeconds(180))
            .until(() -> finished(namespace));
      }
      var window = Duration.between(started, Instant.now()).toSeconds() + 10;

      // The outcome counters equal what the database committed, outcome by outcome.
      var recorded =
          one(
              "SELECT sum(jobs_succeeded), sum(jobs_failed), sum(jobs_dead_lettered),"
                  + " sum(jobs_retried) FROM automation_usage WHERE tenant_id = '"
                  + TENANT
                  + "'");
      assertThat(recorded.get(0) + recorded.get(2)).isEqualTo(TICKETS);
      assertThat(recorded.get(3)).as("retries: the portal failed calls").isPositive();
      var outcomes = List.of("succeeded", "failed", "dead_lettered", "retried");
      await("Prometheus's counters equal the database's")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                for (var i = 0; i < outcomes.size(); i++) {
                  assertThat(
                          query(
                              "sum(robusto_tenant_tickets_total{tenant=\"%s\", outcome=\"%s\"})"
                                  .formatted(TENANT, outcomes.get(i))))
                      .as(outcomes.get(i))
                      .isEqualTo(recorded.get(i).doubleValue());
                }
              });
      assertThat(invoiced).hasSize((int) (long) recorded.get(0));

      // Every call the portal answered is one attempt in the workers' latency histogram.
      await("Prometheus's attempts equal the portal's calls")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                assertThat(query("sum(robusto_attempts_total) or vector(0)") - attemptsBefore)
                    .isEqualTo(calls.get());
                assertThat(
                        query("sum(robusto_attempts_total{result=\"failed\"}) or vector(0)")
                            - failedBefore)
                    .isEqualTo(refusals.get());
                assertThat(
                        query("sum(robusto_attempt_duration_seconds_count) or vector(0)")
                            - histogramBefore)
                    .isEqualTo(calls.get());
              });
      assertThat(invoiced.values())
          .as("no ticket invoiced twice")
          .allSatisfy(n -> assertThat(n.get()).isEqualTo(1));

      // The chart's own alert expression, over the batch's run: 3 calls in 10 failed.
      var errorRate =
          Charts.alertExpression("RobustoTicketErrorRateHigh").replace("[5m]", "[" + window + "s]");
      var ratio = errorRate.substring(0, errorRate.lastIndexOf('>')).strip();
      assertThat(query(ratio)).as(ratio).isBetween(0.2, 0.4);
      assertThat(vector(errorRate)).as("the alert's condition holds").isNotEmpty();

      // No series names a ticket or carries its payload.
      var exposition = get(metrics.toString());
      var labelValues = new TreeSet<String>();
      for (var series : prometheusSeries()) {
        series.fields().forEachRemaining(f -> labelValues.add(f.getValue().asText()));
      }
      assertThat(labelValues).isNotEmpty();
      for (var i = 0; i < TICKETS; i++) {
        var key = key(i);
        assertThat(exposition).doesNotContain(key);
        assertThat(labelValues).noneMatch(value -> value.contains(key));
      }
      assertThat(exposition).doesNotContain("XAXX010101000").doesNotContain("\"total\"");

      // The operator's JSON log lines about the batch name it, its namespace and its tenant.
      var log = Files.readAllLines(java.nio.file.Path.of("target/operator-test-log.json"));
      var aboutTheBatch =
          log.stream()
              .map(PlatformMetricsIT::json)
              .filter(
                  line ->
                      line.path("loggerName").asText().startsWith("dev.robusto")
                          && line.path("mdc")
                              .path("resource.kind")
                              .asText()
                              .equals("AutomationBatch")
                          && line.path("mdc").path("resource.name").asText().equals("medicion"))
              .toList();
      assertThat(aboutTheBatch).as("log lines of the batch's reconciles").isNotEmpty();
      assertThat(aboutTheBatch)
          .allSatisfy(
              line -> {
                assertThat(line.path("mdc").path("resource.namespace").asText())
                    .isEqualTo(namespace);
                assertThat(line.path("mdc").path("tenant").asText()).isEqualTo(TENANT);
              });
      assertThat(log).noneMatch(line -> line.contains("XAXX010101000"));
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void aPortalThatIsDownOpensItsCircuitInPrometheusUntilTheWorkersEnd() throws Exception {
    prometheus.scrape("operator", metrics.getPort(), metrics.getPath());
    var namespace = TestTenants.ready(client, "cortocircuito", Tier.ENTERPRISE, null);
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          exchange.sendResponseHeaders(503, -1);
          exchange.close();
        });
    portal.start();
    var endpoint = "127.0.0.1:" + portal.getAddress().getPort();
    var openHere =
        "sum(robusto_tenant_circuit_breakers_open{tenant=\"cortocircuito\", endpoint=\"%s\"})"
            .formatted(endpoint);
    try (var kubelet =
        new LocalNode(client, namespace, "robusto-operator:dev", WorkerProcesses.LOGS)) {
      var batch = batch(namespace, portal.getAddress().getPort());
      batch.getMetadata().setName("sin-portal");
      batch.getSpec().parallelism = 2;
      batch.getSpec().maxAttempts = 50;
      client.resource(batch).create();
      await("the workers' circuits to the portal are open, as Prometheus sees them")
          .atMost(Duration.ofSeconds(90))
          .untilAsserted(
              () -> {
                assertThat(query(openHere)).as("one breaker a worker").isBetween(1.0, 2.0);
                assertThat(query("robusto_circuit_breakers_open")).isGreaterThanOrEqualTo(1.0);
              });

      client.resource(batch).delete();
      await("the ended workers withdrew their circuits")
          .atMost(Duration.ofSeconds(90))
          .untilAsserted(() -> assertThat(vector(openHere)).isEmpty());
      assertThat(
              count("SELECT count(*) FROM automation_circuits WHERE tenant_id = 'cortocircuito'"))
          .as("nothing left to fade")
          .isZero();
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void seriesStayBoundedFor150TenantsAndEveryDashboardMetricExists() throws Exception {
    execute(
        "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
            + " max_daily_jobs, requests_per_minute) SELECT 'sim-' || lpad(g::text, 3, '0'),"
            + " 'startup', 'tenant-sim-' || g, 3, 100, 600 FROM generate_series(1, 150) g");
    execute(
        "INSERT INTO automation_metrics (tenant_id, day, jobs_admitted) SELECT tenant_id,"
            + " current_date, 10 FROM tenant_config WHERE tenant_id LIKE 'sim-%'");
    // Attempts in every latency bucket: each labelled tenant gets its whole histogram.
    execute(
        "INSERT INTO automation_attempt_latency (tenant_id, day, le_ms, attempts, failed,"
            + " duration_ms) SELECT tenant_id, current_date, le, 3, 1, 300 FROM tenant_config,"
            + " unnest(ARRAY[100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000, 2147483647]) le"
            + " WHERE tenant_id LIKE 'sim-%'");
    execute(
        "INSERT INTO automation_usage (tenant_id, day, jobs_succeeded, jobs_failed,"
            + " jobs_dead_lettered, jobs_retried) SELECT tenant_id, current_date, 7, 1, 1, 2"
            + " FROM tenant_config WHERE tenant_id LIKE 'sim-%'");
    try {
      await("the leader reads the 150 tenants")
          .atMost(Duration.ofSeconds(30))
          .until(() -> get(metrics.toString()).contains("tenant=\"_other\""));
      var exposition = get(metrics.toString());
      var series = exposition.lines().filter(l -> l.startsWith("robusto_")).toList();
      var tenants = new HashSet<String>();
      var tenantLabel = Pattern.compile("tenant=\"([^\"]+)\"");
      for (var line : series) {
        var m = tenantLabel.matcher(line);
        if (m.find()) {
          tenants.add(m.group(1));
        }
      }
      assertThat(tenants)
          .as("100 tenants by name with series of their own, the rest summed as _other")
          .hasSize(101)
          .contains("_other", "sim-001")
          .doesNotContain("sim-150");
      assertThat(series.size())
          .as(
              "robusto_ series with 150 tenants, each with attempts in every bucket (bound: 3,000;"
                  + " about 23 a labelled tenant)")
          .isLessThan(3_000);
      System.out.printf("robusto_ series with 150 tenants: %d%n", series.size());

      // Every metric the dashboards and alerts query is one the operator serves.
      var used = new TreeSet<String>();
      var name = Pattern.compile("\\b(robusto_[a-z_]+)");
      try (var files =
          Files.list(LocalCluster.projectDir().resolve(Charts.CHART + "/dashboards"))) {
        for (var file : files.toList()) {
          var m = name.matcher(Files.readString(file));
          while (m.find()) {
            used.add(m.group(1));
          }
        }
      }
      var m = name.matcher(JSON.writeValueAsString(Charts.alertRules()));
      while (m.find()) {
        used.add(m.group(1));
      }
      var served = new TreeSet<String>();
      exposition
          .lines()
          .filter(l -> l.startsWith("robusto_"))
          .forEach(l -> served.add(l.split("[{ ]")[0]));
      used.removeAll(CREATED_ON_FIRST_USE);
      assertThat(served).containsAll(used);
    } finally {
      execute("DELETE FROM tenant_config WHERE tenant_id LIKE 'sim-%'");
    }
  }

  private static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (java.io.IOException e) {
      throw new AssertionError("not a JSON line: " + line, e);
    }
  }

  private static String key(int i) {
    return "medicion-%04d".formatted(i);
  }

  private static AutomationBatch batch(String namespace, int portalPort) {
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder().withName("medicion").withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.url = "http://127.0.0.1:" + portalPort + "/facturas";
    spec.parallelism = 4;
    spec.maxAttempts = 8;
    spec.backoff.initial = "100ms";
    spec.backoff.max = "500ms";
    spec.items =
        IntStream.range(0, TICKETS)
            .mapToObj(
                i -> {
                  var item = new AutomationBatchSpec.Item();
                  item.key = key(i);
                  item.payload =
                      JSON.createObjectNode().put("rfc", "XAXX010101000").put("total", 100 + i);
                  return item;
                })
            .toList();
    batch.setSpec(spec);
    return batch;
  }

  private boolean finished(String namespace) {
    var batch =
        client.resources(AutomationBatch.class).inNamespace(namespace).withName("medicion").get();
    return batch.getStatus() != null
        && batch.getStatus().phase != null
        && batch.getStatus().phase.finished();
  }

  private double query(String promql) throws Exception {
    var result = vector(promql);
    assertThat(result).as(promql).hasSize(1);
    return result.get(0).get("value").get(1).asDouble();
  }

  private List<JsonNode> vector(String promql) throws Exception {
    var body =
        get(
            prometheus.url()
                + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    var answer = JSON.readTree(body);
    assertThat(answer.get("status").asText()).as(body).isEqualTo("success");
    var out = new ArrayList<JsonNode>();
    answer.get("data").get("result").forEach(out::add);
    return out;
  }

  private List<JsonNode> prometheusSeries() throws Exception {
    var body =
        get(
            prometheus.url()
                + "/api/v1/series?match[]="
                + URLEncoder.encode("{target=\"operator\"}", StandardCharsets.UTF_8));
    var out = new ArrayList<JsonNode>();
    JSON.readTree(body).get("data").forEach(out::add);
    return out;
  }

  private String get(String url) throws Exception {
    var response =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(url).isEqualTo(200);
    return response.body();
  }

  private long count(String sql) throws SQLException {
    return one(sql).get(0);
  }

  private List<Long> one(String sql) throws SQLException {
    try (var c = database.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      var out = new ArrayList<Long>();
      for (var i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
        out.add(rs.getLong(i));
      }
      return out;
    }
  }

  private void execute(String sql) throws SQLException {
    try (var c = database.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
