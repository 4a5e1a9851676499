package dev.robusto.merchant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.batch.AutomationBatchStatus;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestFleets;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Merchants end to end with real workers and a portal on loopback that takes one credential at a
 * time: a rotation mid-batch fails no ticket and invoices none twice, a portal that refuses both
 * credentials says what to do while its tickets wait, a dead URL gives way to the alternative, and
 * the tenant's own database role can report only its own figures.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class MerchantIT {

  private static final String WORKER_IMAGE = "robusto-operator:dev";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String OLD = "token-2025-" + "x".repeat(12);
  private static final String NEW = "token-2026-" + "y".repeat(12);

  private final KubernetesClient client = LocalCluster.get().client();

  @Test
  void aCredentialRotatedMidBatchFailsNoTicketAndTheStatusFollowsTheRotation() throws Exception {
    var namespace = TestTenants.ready(client, "rotacion", Tier.ENTERPRISE, null);
    var accepted = new AtomicReference<>(OLD);
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    var refusals = new AtomicInteger();
    var portal = portal(accepted, invoiced, refusals, 150);
    secret(namespace, "portal-rotacion", OLD, NEW);
    client
        .resource(merchant(namespace, "rotacion", url(portal), List.of(), "portal-rotacion"))
        .create();
    try (var node = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client.resource(batch(namespace, "antes-y-despues", "rotacion", 80, 3)).create();
      await("some tickets invoiced with the old credential")
          .atMost(Duration.ofSeconds(120))
          .until(() -> invoiced.size() >= 10);
      // The portal switches: from now on only the new credential, staged in fallback, is taken.
      accepted.set(NEW);
      await("the batch finishes")
          .atMost(Duration.ofSeconds(180))
          .until(() -> finished(namespace, "antes-y-despues"));
      var batch = batch(namespace, "antes-y-despues");
      assertThat(batch.counts.succeeded).as("no ticket failed over the rotation").isEqualTo(80);
      assertThat(batch.counts.failed + batch.counts.deadLettered).isZero();
      assertThat(invoiced).hasSize(80);
      assertThat(invoiced.values())
          .allSatisfy(n -> assertThat(n.get()).as("invoiced once").isOne());
      assertThat(refusals.get()).as("the old credential was refused after the switch").isPositive();

      var status = awaitMerchant(namespace, "rotacion", s -> "Fallback".equals(s.credentialInUse));
      var ready = ready(status);
      assertThat(ready.getStatus()).isEqualTo("True");
      assertThat(ready.getReason()).isEqualTo("FallbackCredential");
      assertThat(ready.getMessage())
          .contains("put the fallback's value in primary of Secret portal-rotacion");
      assertThat(status.lastHour.succeeded).isEqualTo(80);
      assertThat(status.lastHour.failed).isZero();
      assertThat(status.lastHour.fallbacks).isPositive();
      assertThat(status.lastHour.successRate).isEqualTo("100%");
      assertThat(status.tenant).isEqualTo("rotacion");

      // The rotation's last step: the new credential moves to primary; the next batch says so.
      secret(namespace, "portal-rotacion", NEW, NEW);
      client.resource(batch(namespace, "despues", "rotacion", 10, 1)).create();
      await("the second batch finishes")
          .atMost(Duration.ofSeconds(120))
          .until(() -> finished(namespace, "despues"));
      assertThat(batch(namespace, "despues").counts.succeeded).isEqualTo(10);
      status = awaitMerchant(namespace, "rotacion", s -> "Primary".equals(s.credentialInUse));
      assertThat(ready(status).getReason()).isEqualTo("Ready");
      assertThat(ArgoCdScripts.health(client, current(namespace, "rotacion")))
          .satisfies(h -> assertThat(h.status()).isEqualTo("Healthy"))
          .satisfies(h -> assertThat(h.message()).startsWith("Calls succeed"));

      // Neither credential is in the Merchant, its Events or the workers' logs.
      var events =
          client.v1().events().inNamespace(namespace).list().getItems().stream()
              .map(e -> e.getReason() + " " + e.getMessage())
              .toList();
      assertThat(events).as("Events").noneMatch(m -> m.contains(OLD) || m.contains(NEW));
      assertThat(
              JSON.writeValueAsString(
                  client
                      .resources(Merchant.class)
                      .inNamespace(namespace)
                      .withName("rotacion")
                      .get()))
          .doesNotContain(OLD)
          .doesNotContain(NEW);
      try (Stream<java.nio.file.Path> logs = Files.list(WorkerProcesses.LOGS)) {
        for (var log :
            logs.filter(p -> p.getFileName().toString().startsWith("antes-y-despues")).toList()) {
          assertThat(Files.readString(log))
              .as(log.toString())
              .doesNotContain(OLD)
              .doesNotContain(NEW);
        }
      }
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void bothCredentialsRefusedSaysWhatToFixWhileTheTicketsWaitThenTheyGoThrough() throws Exception {
    var namespace = TestTenants.ready(client, "rechazo", Tier.ENTERPRISE, null);
    var accepted = new AtomicReference<>(NEW);
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    var portal = portal(accepted, invoiced, new AtomicInteger(), 0);
    secret(namespace, "portal-rechazo", OLD, OLD);
    client
        .resource(merchant(namespace, "rechazo", url(portal), List.of(), "portal-rechazo"))
        .create();
    try (var node = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client.resource(batch(namespace, "en-espera", "rechazo", 6, 1)).create();
      var status = awaitMerchant(namespace, "rechazo", s -> "Refused".equals(s.credentialInUse));
      var ready = ready(status);
      assertThat(ready.getStatus()).isEqualTo("False");
      assertThat(ready.getReason()).isEqualTo("CredentialsRefused");
      assertThat(ready.getMessage())
          .contains("refused both credentials of Secret portal-rechazo")
          .contains("put a valid one in primary or fallback");
      assertThat(invoiced).isEmpty();
      // Argo CD shows it Degraded; it is not Stalled, since a new Secret value (which the same
      // GitOps sync may bring) ends it without any change to the Merchant, as below.
      assertThat(status.conditions).noneMatch(c -> c.getType().equals("Stalled"));
      assertThat(ArgoCdScripts.health(client, current(namespace, "rechazo")))
          .isEqualTo(new ArgoCdScripts.Health("Degraded", ready.getMessage()));

      secret(namespace, "portal-rechazo", OLD, NEW);
      await("the tickets go through once the Secret holds a valid credential")
          .atMost(Duration.ofSeconds(120))
          .until(() -> finished(namespace, "en-espera"));
      assertThat(batch(namespace, "en-espera").counts.succeeded).isEqualTo(6);
      assertThat(invoiced).hasSize(6);
      var recovered =
          awaitMerchant(namespace, "rechazo", s -> "Fallback".equals(s.credentialInUse));
      assertThat(ArgoCdScripts.health(client, current(namespace, "rechazo")).status())
          .isEqualTo("Healthy");
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void aBatchWaitsForItsMerchantAndADeadUrlGivesWayToTheAlternative() throws Exception {
    var namespace = TestTenants.ready(client, "respaldo", Tier.ENTERPRISE, null);
    var invoiced = new ConcurrentHashMap<String, AtomicInteger>();
    var portal = portal(new AtomicReference<>(null), invoiced, new AtomicInteger(), 600);
    int deadPort;
    try (var socket = new ServerSocket(0)) {
      deadPort = socket.getLocalPort(); // closed again: calls to it are refused
    }
    try (var node = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client.resource(batch(namespace, "sin-portal", "respaldo", 40, 1)).create();
      await("the batch says its merchant is missing")
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                var status = batch(namespace, "sin-portal");
                return status != null
                    && status.conditions.stream()
                        .anyMatch(c -> "MerchantNotFound".equals(c.getReason()));
              });
      assertThat(node.running()).as("no worker starts without its merchant").isZero();

      client
          .resource(
              merchant(
                  namespace,
                  "respaldo",
                  "http://127.0.0.1:" + deadPort + "/facturas",
                  List.of(url(portal)),
                  null))
          .create();
      var status = awaitMerchant(namespace, "respaldo", s -> "PartlyOpen".equals(s.circuit));
      assertThat(status.openCircuits).containsExactly("127.0.0.1:" + deadPort);
      assertThat(ready(status).getMessage()).contains("through the alternative URLs");
      await("the batch finishes")
          .atMost(Duration.ofSeconds(120))
          .until(() -> finished(namespace, "sin-portal"));
      assertThat(batch(namespace, "sin-portal").counts.succeeded).isEqualTo(40);
      assertThat(invoiced).hasSize(40);
      status = awaitMerchant(namespace, "respaldo", s -> s.lastHour.succeeded == 40);
      assertThat(status.credentialInUse).as("a portal that takes no credential").isEqualTo("None");
      assertThat(status.lastHour.successRate).isEqualTo("100%");
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void aFleetCannotNameAMerchantAndAMerchantRefusesUrlsWithCredentials() {
    var namespace = TestTenants.ready(client, "validacion-comercio", Tier.STARTUP, null);
    var withUser =
        merchant(namespace, "con-usuario", "https://user:pw@portal.example/api", List.of(), null);
    assertThatThrownBy(() -> client.resource(withUser).create())
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("spec.url");
    var badAlternative =
        merchant(namespace, "alternativa", "https://portal.example/api", List.of("ftp://x"), null);
    assertThatThrownBy(() -> client.resource(badAlternative).create())
        .hasMessageContaining("spec.alternativeUrls[0]");
    var both = batch(namespace, "ambos", "portal", 1, 1);
    both.getSpec().processor.http.url = "https://portal.example/api";
    assertThatThrownBy(() -> client.resource(both).create())
        .hasMessageContaining("http takes exactly one of url");
    var fleet = TestFleets.fleet(namespace, "flota", 1, "0s", "10s");
    fleet.getSpec().processor.simulated = null;
    fleet.getSpec().processor.http = new AutomationBatchSpec.Http();
    fleet.getSpec().processor.http.merchant = "oxxo";
    assertThatThrownBy(() -> client.resource(fleet).create())
        .hasMessageContaining("a fleet's http processor takes a url");
  }

  @Test
  void aTenantsRoleReportsOnlyItsOwnMerchantsWithinBounds() throws Exception {
    TestTenants.ready(client, "comercio-hostil", Tier.STARTUP, null);
    TestTenants.ready(client, "comercio-vecino", Tier.STARTUP, null);
    var operator =
        Postgres.get().dataSource("robusto", Postgres.OPERATOR_ROLE, Postgres.OPERATOR_PASSWORD);
    try (var c = operator.getConnection()) {
      c.createStatement()
          .execute(
              "INSERT INTO automation_merchant_calls (tenant_id, merchant, minute, succeeded,"
                  + " credential) VALUES ('comercio-vecino', 'oxxo', date_trunc('minute', now()),"
                  + " 100, 'primary')");
    }
    try (var hostile =
        TestTenants.connect(TestTenants.databaseCredentials(client, "comercio-hostil"))) {
      for (var attack :
          List.of(
              "UPDATE automation_merchant_calls SET credential = 'refused'",
              "DELETE FROM automation_merchant_calls WHERE tenant_id = 'comercio-vecino'",
              "INSERT INTO automation_merchant_calls (tenant_id, merchant, minute, credential)"
                  + " VALUES ('comercio-vecino', 'oxxo', now(), 'refused')",
              "SELECT * FROM automation_merchant_calls")) {
        assertThatThrownBy(() -> hostile.createStatement().execute(attack))
            .as(attack)
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("permission denied");
      }
      for (var attack :
          List.of(
              // Free text would reach a Merchant's status.
              "SELECT robusto_worker_report_merchant('Portal caído: llamen al 555', 1, 0, 0, 'primary')",
              "SELECT robusto_worker_report_merchant('oxxo', -5, 0, 0, 'primary')",
              "SELECT robusto_worker_report_merchant('oxxo', 2000000, 0, 0, 'primary')",
              "SELECT robusto_worker_report_merchant('oxxo', 1, 0, 0, 'hunter2')",
              "SELECT robusto_worker_report_merchant(NULL, 1, 0, 0, 'primary')")) {
        assertThatThrownBy(() -> hostile.createStatement().execute(attack))
            .as(attack)
            .hasMessageContaining("a merchant (a Kubernetes name)");
      }
      // Its reports land under its own tenant, whatever merchant it names.
      hostile
          .createStatement()
          .execute("SELECT robusto_worker_report_merchant('oxxo', 7, 0, 0, 'refused')");
      hostile
          .createStatement()
          .execute(
              "SELECT robusto_worker_report_merchant('m-' || g, 1, 0, 0, 'primary')"
                  + " FROM generate_series(2, 50) g");
      assertThatThrownBy(
              () ->
                  hostile
                      .createStatement()
                      .execute("SELECT robusto_worker_report_merchant('m-51', 1, 0, 0, 'primary')"))
          .hasMessageContaining("at most 50 merchants");
    }
    try (var c = operator.getConnection();
        var rs =
            c.createStatement()
                .executeQuery(
                    "SELECT tenant_id, count(*), sum(succeeded) FILTER (WHERE merchant = 'oxxo'),"
                        + " string_agg(credential, ',') FILTER (WHERE merchant = 'oxxo')"
                        + " FROM automation_merchant_calls"
                        + " WHERE tenant_id IN ('comercio-hostil', 'comercio-vecino')"
                        + " GROUP BY tenant_id ORDER BY tenant_id")) {
      rs.next();
      assertThat(List.of(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getString(4)))
          .as("the attacker's rows: its own tenant's, 50 merchants")
          .containsExactly("comercio-hostil", 50L, 7L, "refused");
      rs.next();
      assertThat(List.of(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getString(4)))
          .as("the neighbour's row, untouched")
          .containsExactly("comercio-vecino", 1L, 100L, "primary");
    }
  }

  /**
   * A portal on loopback that takes only {@code accepted}'s credential (any when it holds null),
   * answers others 401 (counted in {@code refusals}), and counts each key it invoiced; each call
   * takes {@code millis}.
   */
  private static HttpServer portal(
      AtomicReference<String> accepted,
      ConcurrentHashMap<String, AtomicInteger> invoiced,
      AtomicInteger refusals,
      long millis)
      throws Exception {
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          var credential = accepted.get();
          var status = 201;
          if (credential != null
              && !("Bearer " + credential)
                  .equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            refusals.incrementAndGet();
            status = 401;
          } else {
            sleep(millis);
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

  private static String url(HttpServer portal) {
    return "http://127.0.0.1:" + portal.getAddress().getPort() + "/facturas";
  }

  private void secret(String namespace, String name, String primary, String fallback) {
    client
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(namespace)
                .endMetadata()
                .withStringData(Map.of("primary", primary, "fallback", fallback))
                .build())
        .serverSideApply();
  }

  private static Merchant merchant(
      String namespace, String name, String url, List<String> alternatives, String secret) {
    var merchant = new Merchant();
    merchant.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    var spec = new MerchantSpec();
    spec.url = url;
    spec.alternativeUrls = alternatives;
    spec.requestTimeout = "5s";
    if (secret != null) {
      spec.credentials = new MerchantSpec.Credentials();
      spec.credentials.secretName = secret;
    }
    merchant.setSpec(spec);
    return merchant;
  }

  private static AutomationBatch batch(
      String namespace, String name, String merchant, int tickets, int parallelism) {
    var batch = new AutomationBatch();
    batch.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.merchant = merchant;
    spec.parallelism = parallelism;
    // Tickets that meet a refused credential retry until it is fixed.
    spec.maxAttempts = 100;
    spec.backoff.initial = "500ms";
    spec.backoff.max = "2s";
    spec.items =
        IntStream.range(0, tickets)
            .mapToObj(
                i -> {
                  var item = new AutomationBatchSpec.Item();
                  item.key = name + "-" + i;
                  item.payload = JSON.createObjectNode().put("folio", i).put("total", 100 + i);
                  return item;
                })
            .toList();
    batch.setSpec(spec);
    return batch;
  }

  private AutomationBatchStatus batch(String namespace, String name) {
    return client
        .resources(AutomationBatch.class)
        .inNamespace(namespace)
        .withName(name)
        .get()
        .getStatus();
  }

  private boolean finished(String namespace, String name) {
    var status = batch(namespace, name);
    return status != null && status.phase != null && status.phase.finished();
  }

  private Merchant current(String namespace, String name) {
    return client.resources(Merchant.class).inNamespace(namespace).withName(name).get();
  }

  private MerchantStatus awaitMerchant(
      String namespace, String name, java.util.function.Predicate<MerchantStatus> until) {
    var seen = new AtomicReference<MerchantStatus>();
    await("merchant " + name + "'s status")
        .atMost(Duration.ofSeconds(90))
        .until(
            () -> {
              var status =
                  client
                      .resources(Merchant.class)
                      .inNamespace(namespace)
                      .withName(name)
                      .get()
                      .getStatus();
              seen.set(status);
              return status != null && status.lastHour != null && until.test(status);
            });
    return seen.get();
  }

  private static Condition ready(MerchantStatus status) {
    return status.conditions.stream()
        .filter(c -> c.getType().equals("Ready"))
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
