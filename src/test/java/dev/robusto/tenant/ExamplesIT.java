package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.robusto.localnode.ExamplePortals;
import dev.robusto.localnode.LocalNode;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.WorkerProcesses;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What the README tells a newcomer to apply works: kubectl accepts examples/ and they get Ready.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class ExamplesIT {

  @TestHTTPResource("/q/metrics")
  String metricsUrl;

  @Test
  void theExampleTenantsAreAcceptedAndBecomeReady() {
    var cluster = LocalCluster.get();
    var examples = LocalCluster.projectDir().resolve("examples").toString();
    assertThat(cluster.kubectl("apply", "-f", examples))
        .contains("tenant.robusto.dev/comercializadora-norte")
        .contains("tenant.robusto.dev/tacos-el-guero")
        .contains("featureflag.robusto.dev/captcha-solving");

    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(
                        cluster.kubectl(
                            "get",
                            "tenants",
                            "comercializadora-norte",
                            "tacos-el-guero",
                            "-o",
                            "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}"))
                    .isEqualTo("True True"));
    assertThat(
            cluster.kubectl(
                "get", "tenant", "tacos-el-guero", "-o", "jsonpath={.status.effectiveLimits}"))
        .contains("\"maxConcurrentJobs\":3")
        .contains("\"maxDailyJobs\":100")
        .contains("\"requestsPerMinute\":120");
    await("the example's price shows in its usage")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(
                        cluster.kubectl(
                            "get",
                            "tenant",
                            "tacos-el-guero",
                            "-o",
                            "jsonpath={.status.usage.pricePerTicketMxn}"))
                    .isEqualTo("1.2500"));
    assertThat(
            cluster.kubectl(
                "get",
                "resourcequota",
                "tenant-quota",
                "-n",
                "tenant-comercializadora-norte",
                "-o",
                "jsonpath={.spec.hard.cpu}"))
        .isEqualTo("48");
  }

  @Test
  void theExampleFlagsReachTheExampleTenants() {
    theExampleTenantsAreAcceptedAndBecomeReady();
    var cluster = LocalCluster.get();
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () -> {
              var flags =
                  new com.fasterxml.jackson.databind.ObjectMapper()
                      .readTree(
                          cluster.kubectl(
                              "get",
                              "configmap",
                              "robusto-flags",
                              "-n",
                              "tenant-tacos",
                              "-o",
                              "jsonpath={.data.flags\\.json}"))
                      .get("flags");
              assertThat(flags.get("captcha-solving").get("defaultVariant").asText())
                  .as("the example's override for tacos-el-guero")
                  .isEqualTo("off");
              assertThat(flags.has("nuevo-flujo-portal")).isTrue();
            });
  }

  @Test
  void theExampleBatchRunsToTheEndWithItsWorkersRun() {
    theExampleTenantsAreAcceptedAndBecomeReady();
    var cluster = LocalCluster.get();
    var batches = LocalCluster.projectDir().resolve("examples/batches").toString();
    assertThat(cluster.kubectl("apply", "-f", batches))
        .contains("automationbatch.robusto.dev/fin-de-mes-noviembre");
    try (var kubelet =
        new LocalNode(
            cluster.client(),
            "tenant-comercializadora-norte",
            "robusto-operator:dev",
            WorkerProcesses.LOGS)) {
      await()
          .atMost(Duration.ofSeconds(120))
          .untilAsserted(
              () ->
                  assertThat(
                          cluster.kubectl(
                              "get",
                              "automationbatch",
                              "fin-de-mes-noviembre",
                              "-n",
                              "tenant-comercializadora-norte",
                              "-o",
                              "jsonpath={.status.phase} {.status.counts.total}"))
                      .matches("(Succeeded|PartiallyFailed) 10"));
    }
  }

  /**
   * The seeds' test merchants, as hack/run-local serves them: OXXO invoices every ticket, Litro Mil
   * refuses the two without a valid RFC for good, Simple Portal's 503s are retried until every
   * ticket is invoiced; no portal invoices a ticket twice.
   */
  @Test
  void theTestMerchantsInvoiceRefuseAndRecoverAsTheSeedsSay() throws Exception {
    theExampleTenantsAreAcceptedAndBecomeReady();
    var cluster = LocalCluster.get();
    var portalsFile = LocalCluster.projectDir().resolve("examples/local-portals").toString();
    try (var portals = new ExamplePortals(18080).start();
        var tacos =
            new LocalNode(
                cluster.client(), "tenant-tacos", "robusto-operator:dev", WorkerProcesses.LOGS);
        var norte =
            new LocalNode(
                cluster.client(),
                "tenant-comercializadora-norte",
                "robusto-operator:dev",
                WorkerProcesses.LOGS)) {
      assertThat(cluster.kubectl("apply", "-f", portalsFile))
          .contains("merchant.robusto.dev/oxxo")
          .contains("merchant.robusto.dev/litro-mil")
          .contains("merchant.robusto.dev/simple-portal")
          .contains("automationbatch.robusto.dev/oxxo-noviembre")
          .contains("automationbatch.robusto.dev/litro-mil-noviembre")
          .contains("automationbatch.robusto.dev/simple-portal-noviembre");
      await("the three batches finish")
          .atMost(Duration.ofSeconds(180))
          .untilAsserted(
              () -> {
                assertThat(outcome("tenant-tacos", "oxxo-noviembre")).isEqualTo("Succeeded 8 8 0");
                assertThat(outcome("tenant-comercializadora-norte", "litro-mil-noviembre"))
                    .isEqualTo("PartiallyFailed 8 6 2");
                assertThat(outcome("tenant-comercializadora-norte", "simple-portal-noviembre"))
                    .isEqualTo("Succeeded 8 8 0");
              });
      var http = HttpClient.newHttpClient();
      var stats = new java.util.HashMap<String, com.fasterxml.jackson.databind.JsonNode>();
      for (var portal : java.util.List.of("oxxo", "litro-mil", "simple-portal")) {
        var body =
            http.send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:18080/" + portal + "/stats"))
                        .build(),
                    BodyHandlers.ofString())
                .body();
        stats.put(portal, new com.fasterxml.jackson.databind.ObjectMapper().readTree(body));
      }
      assertThat(stats.values())
          .as("no ticket invoiced twice")
          .allSatisfy(portal -> assertThat(portal.path("invoicedTwice").asInt()).isZero());
      assertThat(stats.get("oxxo").path("invoiced").asInt()).isEqualTo(8);
      assertThat(stats.get("litro-mil").path("invoiced").asInt()).isEqualTo(6);
      assertThat(stats.get("litro-mil").path("refused").asInt())
          .as("a refused ticket is not sent again")
          .isEqualTo(2);
      assertThat(stats.get("simple-portal").path("invoiced").asInt()).isEqualTo(8);
      assertThat(stats.get("simple-portal").path("unavailable").asInt())
          .as("503s, retried")
          .isPositive();
      assertThat(stats.get("litro-mil").path("unauthorized").asInt())
          .as("last year's credential, refused, then this year's from fallback")
          .isPositive();
      await("the merchants say which credential is in use")
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                assertThat(merchant("tenant-tacos", "oxxo")).isEqualTo("True Ready Primary 100%");
                assertThat(merchant("tenant-comercializadora-norte", "litro-mil"))
                    .isEqualTo("True FallbackCredential Fallback 75%");
                assertThat(merchant("tenant-comercializadora-norte", "simple-portal"))
                    .startsWith("True Ready Primary");
              });
    }
  }

  private static String merchant(String namespace, String name) {
    return LocalCluster.get()
        .kubectl(
            "get",
            "merchant",
            name,
            "-n",
            namespace,
            "-o",
            "jsonpath={.status.conditions[0].status} {.status.conditions[0].reason}"
                + " {.status.credentialInUse} {.status.lastHour.successRate}");
  }

  private static String outcome(String namespace, String batch) {
    return LocalCluster.get()
        .kubectl(
            "get",
            "automationbatch",
            batch,
            "-n",
            namespace,
            "-o",
            "jsonpath={.status.phase} {.status.counts.total} {.status.counts.succeeded}"
                + " {.status.counts.failed}");
  }

  @Test
  void theExampleFleetBecomesHealthyAndWorksThroughTheTicketsHandedToIt() {
    theExampleTenantsAreAcceptedAndBecomeReady();
    var cluster = LocalCluster.get();
    var fleets = LocalCluster.projectDir().resolve("examples/fleets").toString();
    assertThat(cluster.kubectl("apply", "-f", fleets))
        .contains("automationdeployment.robusto.dev/portal-workers")
        .contains("automationbatch.robusto.dev/reenvios-noviembre");
    try (var kubelet =
        new LocalNode(
            cluster.client(),
            "tenant-comercializadora-norte",
            "robusto-operator:dev",
            WorkerProcesses.LOGS)) {
      await()
          .atMost(Duration.ofSeconds(120))
          .untilAsserted(
              () -> {
                assertThat(
                        cluster.kubectl(
                            "get",
                            "automationdeployment",
                            "portal-workers",
                            "-n",
                            "tenant-comercializadora-norte",
                            "-o",
                            "jsonpath={.status.phase} {.status.stableRevision}"))
                    .isEqualTo("Healthy 1");
                assertThat(
                        cluster.kubectl(
                            "get",
                            "automationbatch",
                            "reenvios-noviembre",
                            "-n",
                            "tenant-comercializadora-norte",
                            "-o",
                            "jsonpath={.status.phase} {.status.counts.total}"))
                    .matches("(Succeeded|PartiallyFailed) 5");
              });
    }
  }

  @Test
  void operatorMetricsDoNotGrowWithTheNumberOfTenants() throws Exception {
    theExampleTenantsAreAcceptedAndBecomeReady();
    var metrics =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(URI.create(metricsUrl)).build(), BodyHandlers.ofString())
            .body();
    assertThat(metrics).contains("operator_sdk_reconciliations_success_total{");
    assertThat(metrics.lines().filter(l -> l.startsWith("operator_sdk_")))
        .noneMatch(l -> l.contains("tacos-el-guero") || l.contains("resource_name="));
  }
}
