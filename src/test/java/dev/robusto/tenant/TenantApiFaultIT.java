package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.robusto.audit.AuditLog;
import dev.robusto.testing.ConfigFromProperties;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestAuditKeys;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * API faults injected with the Fabric8 mock server (the one thing it is for here: a real API server
 * cannot be told to fail). The mock runs in CRUD mode for everything else; the namespace write of
 * one tenant answers with the fault. The reconciler must report the fault in a condition with a
 * reason, keep retrying, and back off instead of hammering the API server.
 */
@EnableKubernetesMockClient(crud = true)
@Tag("db")
class TenantApiFaultIT {

  private static final String NAMESPACE_APPLY =
      "/api/v1/namespaces/tenant-faulty?fieldManager=tenant&force=true";

  KubernetesMockServer server;
  KubernetesClient client;

  private final List<Long> attempts = new CopyOnWriteArrayList<>();
  private Operator operator;
  private AuditLog audit;

  @AfterEach
  void stop() {
    if (operator != null) {
      operator.stop();
    }
    if (audit != null) {
      audit.close();
    }
  }

  @Test
  void serverErrorsAreRetriedWithBackoffAndReported() {
    failNamespaceWrites(500, "etcdserver: leader changed", 0);
    var ready = runAndAwaitFailure("ApiServerError");
    assertThat(ready.getMessage()).contains("HTTP 500").contains("retries with backoff");
    assertBackedOff();
  }

  @Test
  void conflictsAreRetriedAndReported() {
    failNamespaceWrites(409, "Operation cannot be fulfilled: the object has been modified", 0);
    var ready = runAndAwaitFailure("ApiConflict");
    assertThat(ready.getMessage()).contains("HTTP 409");
    assertBackedOff();
  }

  @Test
  void timeoutsAreRetriedAndReported() {
    failNamespaceWrites(200, "", 3_000);
    var ready = runAndAwaitFailure("ApiTimeout");
    assertThat(ready.getMessage()).contains("did not answer in time");
    assertBackedOff();
  }

  private void failNamespaceWrites(int code, String message, long delayMillis) {
    server
        .expect()
        .patch()
        .delay(delayMillis, TimeUnit.MILLISECONDS)
        .withPath(NAMESPACE_APPLY)
        .andReply(
            code,
            request -> {
              attempts.add(System.nanoTime());
              return new StatusBuilder().withCode(code).withMessage(message).build();
            })
        .always();
  }

  private Condition runAndAwaitFailure(String reason) {
    // A short request timeout, so the delayed answer counts as a timeout.
    var operatorClient =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(client.getConfiguration())
                    .withRequestTimeout(1_000)
                    .withRequestRetryBackoffLimit(0)
                    .build())
            .build();
    operator =
        new Operator(
            o ->
                o.withKubernetesClient(operatorClient)
                    .withUseSSAToPatchPrimaryResource(false)
                    .withCloseClientOnStop(true));
    // The faults stop the workflow before the database step; the reconciler still needs one.
    var database = Postgres.get().migratedDatabase("fault_test");
    var defaults = ConfigFromProperties.mapping(TenantDefaults.class);
    audit = new AuditLog(database, TestAuditKeys.KEYS);
    operator.register(
        new TenantReconciler(
            defaults,
            new TenantDatabaseSync(
                new TenantDatabase(database), audit, defaults, java.time.Clock.systemUTC()),
            new TenantUsageStore(database),
            new PayloadKeys(
                database,
                client,
                new dev.robusto.operator.Leadership(false, "robusto"),
                audit,
                java.util.Optional.empty(),
                java.util.Optional.empty(),
                Duration.ofMinutes(10),
                Duration.ofMinutes(10)),
            audit,
            java.time.Clock.systemUTC()));
    operator.start();

    client.resource(TestTenants.tenant("faulty", Tier.STARTUP, spec -> {})).create();

    var failed =
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () -> client.resources(Tenant.class).withName("faulty").get(),
                t -> readyReason(t).equals(reason));
    var conditions = failed.getStatus().getConditions();
    assertThat(conditions)
        .filteredOn(c -> c.getType().equals("NamespaceReady"))
        .singleElement()
        .satisfies(c -> assertThat(c.getReason()).isEqualTo(reason));
    assertThat(conditions)
        .filteredOn(c -> c.getType().equals("QuotaReady"))
        .singleElement()
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("WaitingForNamespace"));
    return conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst().orElseThrow();
  }

  /**
   * Retries continue, and the gaps between them grow: no hot loop, no giving up, no crash. Judged
   * on the first four attempts, whenever they come, not on how many fit a window of a busy machine.
   */
  private void assertBackedOff() {
    await("four attempts: the operator keeps retrying")
        .atMost(Duration.ofSeconds(60))
        .until(() -> attempts.size() >= 4);
    var first = attempts.get(0);
    var times =
        attempts.subList(0, 4).stream().map(t -> TimeUnit.NANOSECONDS.toMillis(t - first)).toList();
    var gaps = new java.util.ArrayList<Long>();
    for (int i = 1; i < times.size(); i++) {
      gaps.add(times.get(i) - times.get(i - 1));
    }
    assertThat(gaps)
        .as("no hot loop: attempts (ms after the first) %s are a backoff apart", times)
        .allSatisfy(gap -> assertThat(gap).isGreaterThanOrEqualTo(500));
    assertThat(gaps.get(gaps.size() - 1))
        .as("the last gap is longer than the first: %s", gaps)
        .isGreaterThan(gaps.get(0));
  }

  private static String readyReason(Tenant tenant) {
    if (tenant == null || tenant.getStatus() == null) {
      return "";
    }
    return tenant.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready"))
        .map(Condition::getReason)
        .findFirst()
        .orElse("");
  }
}
