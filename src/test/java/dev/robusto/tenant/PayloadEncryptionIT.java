package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.batch.AutomationBatchStatus;
import dev.robusto.localnode.LocalNode;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Ticket payloads at rest, end to end with real workers and a real portal: the raw rows hold no
 * RFC, the portal gets every payload as it was given, and a platform-key rotation started while a
 * batch runs re-encrypts everything under a new data key and drops the old one before the batch
 * ends, with no ticket lost, repeated or unreadable. A tenant's role, as a hostile owner holds it,
 * reaches no data key but its own, and only wrapped.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class PayloadEncryptionIT {

  private static final String WORKER_IMAGE = "robusto-operator:dev";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TICKETS = 200;

  private final KubernetesClient client = LocalCluster.get().client();

  @jakarta.inject.Inject dev.robusto.audit.OutcomeCustody custody;
  @jakarta.inject.Inject dev.robusto.audit.AuditLog audit;
  @jakarta.inject.Inject TenantUsageStore usage;
  @jakarta.inject.Inject PayloadKeys payloadKeys;

  @Test
  void aPlatformKeyRotationCompletesWhileABatchRunsWithNothingLostOrUnreadable() throws Exception {
    // A tenant deleted with its rows retained: no namespace, no payload key for workers; its data
    // keys rotate all the same.
    TestTenants.ready(client, "cifrado-retenido", Tier.STARTUP, null);
    awaitEncryption("cifrado-retenido", e -> e.getDataKeyVersion() != null);
    client.resources(Tenant.class).withName("cifrado-retenido").delete();
    await("its rows retained")
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                longValue(
                        "SELECT count(*) FROM tenant_config WHERE tenant_id = 'cifrado-retenido'"
                            + " AND retained_at IS NOT NULL")
                    == 1);
    var namespace = TestTenants.ready(client, "cifrado", Tier.ENTERPRISE, null);
    var first = awaitEncryption("cifrado", e -> e.getDataKeyVersion() != null);
    assertThat(first.getPhase()).isEqualTo(TenantPayloadEncryption.CURRENT);
    var oldPlatformKey = first.getPlatformKey();

    // The portal keeps what it was sent for each ticket, and is slow enough that the rotation
    // lands mid-batch.
    var received = new ConcurrentHashMap<String, String>();
    var calls = new AtomicInteger();
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          var body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          calls.incrementAndGet();
          sleep(150);
          received.merge(
              exchange.getRequestHeaders().getFirst("Idempotency-Key"), body, (a, b) -> "twice");
          exchange.sendResponseHeaders(201, -1);
          exchange.close();
        });
    portal.setExecutor(Executors.newFixedThreadPool(4));
    portal.start();
    var keysBefore = Files.readString(LocalClusterResource.payloadKeys);
    try (var kubelet = new LocalNode(client, namespace, WORKER_IMAGE, WorkerProcesses.LOGS)) {
      client.resource(batch(namespace, portal.getAddress().getPort())).create();
      await("the tickets are queued, sealed")
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  rows("automation_items", "cifrado") + rows("automation_item_outcomes", "cifrado")
                      == TICKETS);
      assertNoPlaintext("cifrado");

      await("some tickets are done")
          .atMost(Duration.ofSeconds(120))
          .until(() -> rows("automation_item_outcomes", "cifrado") >= 10);
      // Outcomes chained while sealed under the first data key: re-encrypting them must not break
      // the chain of custody.
      while (custody.chain() > 0) {
        // every finished ticket so far
      }
      // The rotation: a new platform key first, the old one kept second until nothing needs it.
      var rotated = "rotated-" + System.nanoTime() % 100_000;
      var rotatedKey = rotated + ":" + newKey();
      Files.writeString(LocalClusterResource.payloadKeys, rotatedKey + "," + keysBefore.strip());

      await("every payload of the tenant under a new data key, and the old key dropped")
          .atMost(Duration.ofSeconds(60))
          .until(() -> dataKeys("cifrado").equals(Map.of(first.getDataKeyVersion() + 1, rotated)));
      assertThat(received.size())
          .as("the rotation completed while the batch was running")
          .isLessThan(TICKETS);
      assertNoPlaintext("cifrado");

      var after =
          awaitEncryption(
              "cifrado",
              e -> rotated.equals(e.getPlatformKey()) && e.getPlatformKeysInUse().size() == 1);
      assertThat(after.getDataKeyVersion()).isEqualTo(first.getDataKeyVersion() + 1);
      assertThat(after.getPendingPayloads()).isZero();
      assertThat(after.getPhase()).isEqualTo(TenantPayloadEncryption.CURRENT);
      assertThat(after.getPlatformKeysInUse()).containsExactly(rotated);
      await("the retained tenant's data key rotated too")
          .atMost(Duration.ofSeconds(60))
          .until(() -> dataKeys("cifrado-retenido").equals(Map.of(2, rotated)));

      await("the batch done")
          .atMost(Duration.ofSeconds(180))
          .until(() -> phase(namespace) == AutomationBatchStatus.Phase.SUCCEEDED);
      var status = batchStatus(namespace);
      assertThat(status.counts.succeeded).isEqualTo(TICKETS);
      assertThat(status.counts.failed + status.counts.deadLettered).isZero();
      // Every ticket reached the portal once, as it was given: none lost, repeated or unreadable.
      assertThat(received).hasSize(TICKETS).doesNotContainValue("twice");
      for (var i = 0; i < TICKETS; i++) {
        assertThat(JSON.readTree(received.get("cifrado-" + i))).isEqualTo(payload(i));
      }
      assertNoPlaintext("cifrado");
      assertThat(
              longValue(
                  "SELECT max(attempts) FROM automation_item_outcomes WHERE tenant_id = 'cifrado'"))
          .as("no attempt failed for a payload that would not open")
          .isEqualTo(1);

      // Opened afresh, as another replica would, every outcome reads as it was given.
      var fresh =
          new PayloadKeys(
              Postgres.get().operator("robusto"),
              client,
              new dev.robusto.operator.Leadership(false, "robusto"),
              audit,
              java.util.Optional.empty(),
              java.util.Optional.of(LocalClusterResource.payloadKeys.toString()),
              Duration.ofMinutes(10),
              Duration.ofMinutes(10));
      try (var c = Postgres.get().superuser("robusto");
          var s =
              c.prepareStatement(
                  "SELECT idempotency_key, payload::text FROM automation_item_outcomes"
                      + " WHERE tenant_id = 'cifrado'");
          var rs = s.executeQuery()) {
        var opened = 0;
        while (rs.next()) {
          var i = Integer.parseInt(rs.getString(1).substring("cifrado-".length()));
          assertThat(JSON.readTree(fresh.open("cifrado", rs.getString(2)))).isEqualTo(payload(i));
          opened++;
        }
        assertThat(opened).isEqualTo(TICKETS);
      }
      // The chain of custody holds across the re-encryption, and the CFDI report reads totals.
      while (custody.chain() > 0) {
        // the rest
      }
      var verification = custody.verify();
      assertThat(verification.intact()).as(verification.problem()).isTrue();
      var now = java.time.Instant.now();
      assertThat(
              usage.cfdi(
                  "cifrado",
                  now.minus(Duration.ofDays(1)),
                  now.plus(Duration.ofDays(1)),
                  payloadKeys))
          .singleElement()
          .satisfies(
              line -> {
                assertThat(line.tickets()).isEqualTo(TICKETS);
                assertThat(line.total()).isEqualByComparingTo("39900");
                assertThat(line.withoutTotal()).isZero();
              });

      // The old platform key leaves the Secret once no tenant's data key needs it.
      await("no data key of any tenant wrapped by the old platform key")
          .atMost(Duration.ofSeconds(60))
          .until(() -> platformKeyUses(oldPlatformKey) == 0);
      Files.writeString(LocalClusterResource.payloadKeys, rotatedKey);
    } finally {
      portal.stop(0);
    }
  }

  @Test
  void aTenantsRoleReachesItsOwnDataKeysOnlyAndOnlyWrapped() throws Exception {
    TestTenants.ready(client, "llaves-a", Tier.STARTUP, null);
    TestTenants.ready(client, "llaves-b", Tier.STARTUP, null);
    awaitEncryption("llaves-a", e -> e.getDataKeyVersion() != null);
    awaitEncryption("llaves-b", e -> e.getDataKeyVersion() != null);
    var credentials = TestTenants.databaseCredentials(client, "llaves-a");
    try (var attacker = TestTenants.connect(credentials);
        var s = attacker.createStatement()) {
      for (var attempt :
          List.of(
              "SELECT * FROM tenant_payload_keys",
              "UPDATE tenant_payload_keys SET kek_id = 'x'",
              "DELETE FROM tenant_payload_keys")) {
        assertThatThrownBy(() -> s.execute(attempt))
            .as(attempt)
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("permission denied");
      }
      var tenants = new ArrayList<String>();
      try (var rs = s.executeQuery("SELECT tenant_id FROM robusto_worker_payload_keys()")) {
        while (rs.next()) {
          tenants.add(rs.getString(1));
        }
      }
      assertThat(tenants).isNotEmpty().containsOnly("llaves-a");
    }
    // Its own payload key (its Secret's) opens its own data keys and no other tenant's.
    var payloadKey = Base64.getDecoder().decode(TestTenants.payloadKey(client, "llaves-a"));
    try (var c = Postgres.get().superuser("robusto");
        var s = c.createStatement();
        var rs =
            s.executeQuery(
                "SELECT tenant_id, version, worker_wrapped FROM tenant_payload_keys"
                    + " WHERE tenant_id IN ('llaves-a', 'llaves-b')")) {
      var opened = 0;
      while (rs.next()) {
        var tenant = rs.getString(1);
        var version = rs.getInt(2);
        var wrapped = rs.getBytes(3);
        if (tenant.equals("llaves-a")) {
          PayloadCipher.unwrap(payloadKey, wrapped, PayloadCipher.dataKeyContext(tenant, version));
          opened++;
        } else {
          assertThatThrownBy(
                  () ->
                      PayloadCipher.unwrap(
                          payloadKey, wrapped, PayloadCipher.dataKeyContext(tenant, version)))
              .isInstanceOf(java.security.GeneralSecurityException.class);
        }
      }
      assertThat(opened).isPositive();
    }
  }

  @Test
  void aPayloadThatWouldPassForASealedOneIsRefusedWithWhatToRename() {
    var namespace = TestTenants.ready(client, "reservado", Tier.STARTUP, null);
    var batch = batch(namespace, 9);
    var item = new AutomationBatchSpec.Item();
    item.key = "trampa";
    item.payload =
        JSON.createObjectNode()
            .set(PayloadCipher.FIELD, JSON.createObjectNode().put("key", 1).put("data", "x"));
    batch.getSpec().items = List.of(item);
    client.resource(batch).create();
    await("refused")
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              var status = batchStatus(namespace);
              return status != null
                  && status.conditions.stream()
                      .anyMatch(
                          c ->
                              "InvalidItems".equals(c.getReason())
                                  && c.getMessage().contains(PayloadCipher.FIELD)
                                  && c.getMessage().contains("rename it"));
            });
  }

  private TenantPayloadEncryption awaitEncryption(
      String tenant, java.util.function.Predicate<TenantPayloadEncryption> until) {
    var seen = new java.util.concurrent.atomic.AtomicReference<TenantPayloadEncryption>();
    await("tenant " + tenant + " payload encryption")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              var status = client.resources(Tenant.class).withName(tenant).get().getStatus();
              var encryption = status == null ? null : status.getPayloadEncryption();
              seen.set(encryption);
              return encryption != null && until.test(encryption);
            });
    return seen.get();
  }

  /** The RFCs given are nowhere in the raw payload columns; every row is sealed. */
  private static void assertNoPlaintext(String tenant) throws SQLException {
    for (var table : List.of("automation_items", "automation_item_outcomes")) {
      try (var c = Postgres.get().superuser("robusto");
          var s =
              c.prepareStatement(
                  ("SELECT count(*) FILTER (WHERE payload::text LIKE '%%CIFR85%%'),"
                          + " count(*) FILTER (WHERE NOT payload ?? '%s') FROM %s WHERE tenant_id = ?")
                      .formatted(PayloadCipher.FIELD, table))) {
        s.setString(1, tenant);
        try (var rs = s.executeQuery()) {
          rs.next();
          assertThat(rs.getLong(1)).as("rows of %s with an RFC in the clear", table).isZero();
          assertThat(rs.getLong(2)).as("rows of %s not sealed", table).isZero();
        }
      }
    }
  }

  private static long longValue(String query) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var s = c.createStatement();
        var rs = s.executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static long rows(String table, String tenant) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var s = c.prepareStatement("SELECT count(*) FROM " + table + " WHERE tenant_id = ?")) {
      s.setString(1, tenant);
      try (var rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** The tenant's data keys: version to the platform key wrapping it. */
  private static Map<Integer, String> dataKeys(String tenant) throws SQLException {
    var keys = new java.util.TreeMap<Integer, String>();
    try (var c = Postgres.get().superuser("robusto");
        var s =
            c.prepareStatement(
                "SELECT version, kek_id FROM tenant_payload_keys WHERE tenant_id = ?")) {
      s.setString(1, tenant);
      try (var rs = s.executeQuery()) {
        while (rs.next()) {
          keys.put(rs.getInt(1), rs.getString(2));
        }
      }
    }
    return keys;
  }

  private static long platformKeyUses(String platformKey) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var s = c.prepareStatement("SELECT count(*) FROM tenant_payload_keys WHERE kek_id = ?")) {
      s.setString(1, platformKey);
      try (var rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static String newKey() {
    var key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  private static com.fasterxml.jackson.databind.JsonNode payload(int i) {
    return JSON.createObjectNode()
        .put("rfc", "CIFR850101%03d".formatted(i))
        .put("total", 100 + i)
        .put("folio", i);
  }

  private static AutomationBatch batch(String namespace, int port) {
    var batch = new AutomationBatch();
    batch.setMetadata(new ObjectMetaBuilder().withName("cifrada").withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.url = "http://127.0.0.1:" + port + "/facturas";
    spec.parallelism = 2;
    spec.maxAttempts = 5;
    spec.backoff.initial = "100ms";
    spec.backoff.max = "500ms";
    var prefix = namespace.substring("tenant-".length());
    spec.items =
        IntStream.range(0, TICKETS)
            .mapToObj(
                i -> {
                  var item = new AutomationBatchSpec.Item();
                  item.key = prefix + "-" + i;
                  item.payload = payload(i);
                  return item;
                })
            .toList();
    batch.setSpec(spec);
    return batch;
  }

  private AutomationBatchStatus batchStatus(String namespace) {
    var batch =
        client.resources(AutomationBatch.class).inNamespace(namespace).withName("cifrada").get();
    return batch == null ? null : batch.getStatus();
  }

  private AutomationBatchStatus.Phase phase(String namespace) {
    var status = batchStatus(namespace);
    return status == null ? null : status.phase;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
