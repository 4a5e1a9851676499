package dev.robusto.flag;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.audit.AuditCanonical;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantSpec;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.Prometheus;
import dev.robusto.testing.PrometheusResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * FeatureFlags projected into every tenant on the local cluster and PostgreSQL: the tenant's
 * robusto-flags ConfigMap (flagd's format) and feature_flags rows, and the flag's status.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@QuarkusTestResource(PrometheusResource.class)
@Tag("cluster")
class FeatureFlagIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final KubernetesClient client = LocalCluster.get().client();

  @Test
  void overridesRolloutAndKillSwitchReachEveryTenantsConfigMapAndRows() throws Exception {
    for (var name : List.of("flag-uno", "flag-dos", "cliente-dificil")) {
      tenant(name);
    }
    var flag =
        flag(
            "ff-captcha",
            """
            {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
             "tenants": {"cliente-dificil": "off"}}
            """);
    client.resource(flag).create();

    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(flagd("cliente-dificil", "ff-captcha"))
                  .containsEntry("defaultVariant", "off")
                  .containsEntry("state", "ENABLED");
              assertThat(flagd("flag-uno", "ff-captcha")).containsEntry("defaultVariant", "on");
              assertThat(row("cliente-dificil", "ff-captcha")).isEqualTo("false off false");
              assertThat(row("flag-uno", "ff-captcha")).isEqualTo("true on true");
            });
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              var status = status("ff-captcha");
              assertThat(status.tenantsPerVariant.get("off")).isEqualTo(1);
              assertThat(status.tenantsPerVariant.get("on")).isGreaterThanOrEqualTo(2);
              assertThat(status.conditions)
                  .anySatisfy(c -> assertThat(c.getReason()).isEqualTo("Served"));
            });
    assertThat(ArgoCdScripts.health(client, get("ff-captcha")).status()).isEqualTo("Healthy");

    // The kill switch: every tenant's answer goes, so callers fall back to their code default.
    client
        .resources(FeatureFlag.class)
        .withName("ff-captcha")
        .edit(
            f -> {
              f.getSpec().state = FeatureFlagSpec.State.DISABLED;
              return f;
            });
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(flagd("flag-uno", "ff-captcha")).containsEntry("state", "DISABLED");
              assertThat(row("flag-dos", "ff-captcha")).isEqualTo("false null null");
              var status = status("ff-captcha");
              assertThat(status.disabledReason).contains("spec.state: DISABLED");
            });
    // Off on purpose: Argo CD shows it Suspended, not broken.
    assertThat(ArgoCdScripts.health(client, get("ff-captcha")))
        .isEqualTo(new ArgoCdScripts.Health("Suspended", status("ff-captcha").disabledReason));
    // Both of the tenant's writes are in the audit log, the ConfigMap's content as its hash.
    var flagsJson =
        client
            .configMaps()
            .inNamespace("tenant-flag-dos")
            .withName(TenantFlagsConfigMap.NAME)
            .get()
            .getData()
            .get(TenantFlagsConfigMap.KEY);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(auditedHashes("ConfigMap/tenant-flag-dos/robusto-flags"))
                  .contains(AuditCanonical.stateHash(flagsJson));
              assertThat(auditedHashes("feature_flags/flag-dos")).hasSizeGreaterThanOrEqualTo(2);
            });
  }

  /** The after-state hashes the audit log holds for a resource, oldest first. */
  private static List<String> auditedHashes(String resource) throws Exception {
    try (var c = database().getConnection();
        var q =
            c.prepareStatement(
                "SELECT after_hash FROM audit_log WHERE resource = ? ORDER BY seq")) {
      q.setString(1, resource);
      try (var rs = q.executeQuery()) {
        var hashes = new ArrayList<String>();
        while (rs.next()) {
          hashes.add(rs.getString(1));
        }
        return hashes;
      }
    }
  }

  @Test
  void aFlagNamingUnknownVariantsIsNotServedAndSaysWhy() throws Exception {
    tenant("flag-tres");
    client
        .resource(
            flag(
                "ff-modelo",
                """
                {"type": "object", "variants": {"basico": {"model": "small"}},
                 "defaultVariant": "basico", "tenants": {"flag-tres": "premium"}}
                """))
        .create();
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(status("ff-modelo").conditions)
                    .anySatisfy(
                        c -> {
                          assertThat(c.getReason()).isEqualTo("InvalidSpec");
                          assertThat(c.getMessage())
                              .isEqualTo(
                                  "Not served until fixed: tenant 'flag-tres' is given 'premium',"
                                      + " not one of the variants.");
                        }));
    assertThat(flagd("flag-tres", "ff-modelo")).isEmpty();
    assertThat(ArgoCdScripts.health(client, get("ff-modelo")))
        .isEqualTo(
            new ArgoCdScripts.Health(
                "Degraded",
                "Fix the spec: tenant 'flag-tres' is given 'premium', not one of the variants."));
  }

  @Test
  void aTenantWhoseTicketsFailTooMuchGetsTheFlagOffForItselfAlone() throws Exception {
    tenant("flag-cuatro");
    tenant("flag-cinco");
    for (var name : List.of("flag-cuatro", "flag-cinco")) {
      await("tenant_config row of " + name)
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                try (var c = database().getConnection();
                    var rs =
                        c.createStatement()
                            .executeQuery(
                                "SELECT 1 FROM tenant_config WHERE tenant_id = '" + name + "'")) {
                  return rs.next();
                }
              });
    }
    // 40 tickets each in the last minutes: flag-cuatro's fail 1 in 5, flag-cinco's 1 in 20.
    outcomes("flag-cuatro", "00000000-0000-0000-0000-0000000000f4", 900_000, 5);
    outcomes("flag-cinco", "00000000-0000-0000-0000-0000000000f5", 910_000, 20);
    client
        .resource(
            flag(
                "ff-portal",
                """
                {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                 "tenants": {"flag-cuatro": "on", "flag-cinco": "on"},
                 "autoDisable": {"metric": "batchFailureRate", "threshold": 0.1, "window": "5m"}}
                """))
        .create();

    var reason =
        "Auto-disabled for tenant flag-cuatro: batchFailureRate 0.200 exceeded 0.100 over the last"
            + " 5m (40 tickets). Remove the annotation disabled-for.robusto.dev/flag-cuatro to turn"
            + " it back on.";
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              var flag = get("ff-portal");
              assertThat(statusOf(flag).disabledTenants)
                  .containsExactly(entry("flag-cuatro", reason));
              assertThat(statusOf(flag).conditions)
                  .anySatisfy(
                      c -> {
                        assertThat(c.getType()).isEqualTo("Disabled");
                        assertThat(c.getStatus()).isEqualTo("False");
                        assertThat(c.getReason()).isEqualTo("OffForSomeTenants");
                      });
              assertThat(flagd("flag-cuatro", "ff-portal")).containsEntry("state", "DISABLED");
            });
    assertThat(get("ff-portal").getSpec().state)
        .as("one tenant's failures never turn the flag off for the others")
        .isEqualTo(FeatureFlagSpec.State.ENABLED);
    assertThat(flagd("flag-cinco", "ff-portal")).containsEntry("state", "ENABLED");
    assertThat(
            client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> "AutoDisabled".equals(e.getReason()))
                .filter(e -> "ff-portal".equals(e.getInvolvedObject().getName())))
        .hasSize(1);
    try (var c = database().getConnection();
        var rs =
            c.createStatement()
                .executeQuery(
                    "SELECT tenant_id FROM audit_log WHERE resource = 'FeatureFlag/ff-portal'"
                        + " AND action = 'update'")) {
      assertThat(rs.next()).as("the auto-disable is in the audit log").isTrue();
      assertThat(rs.getString(1)).isEqualTo("flag-cuatro");
      assertThat(rs.next()).isFalse();
    }

    // Fixed (its failures are gone from the window), a person turns it back on for the tenant.
    try (var c = database().getConnection();
        var s = c.createStatement()) {
      s.execute("DELETE FROM automation_item_outcomes WHERE tenant_id = 'flag-cuatro'");
    }
    client
        .resources(FeatureFlag.class)
        .withName("ff-portal")
        .edit(
            f -> {
              f.getMetadata().getAnnotations().remove("disabled-for.robusto.dev/flag-cuatro");
              return f;
            });
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(flagd("flag-cuatro", "ff-portal")).containsEntry("state", "ENABLED");
              assertThat(status("ff-portal").disabledTenants).isNull();
            });
  }

  /** {@code tenant}'s 40 tickets finished a minute ago, one in every {@code failEvery} failed. */
  private void outcomes(String tenant, String batchId, int firstItem, int failEvery)
      throws SQLException {
    try (var c = database().getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name) VALUES ('%s', '%s', 'tenant-%s', 'lote')"
              .formatted(batchId, tenant, tenant));
      s.execute(
          ("INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
                  + " payload, state, attempts, created_at, finished_at)"
                  + " SELECT %d + i, '%s', '%s', 'k-' || i, '{}',"
                  + " CASE WHEN i %% %d = 0 THEN 'failed' ELSE 'succeeded' END, 1, now(),"
                  + " now() - interval '1 minute' FROM generate_series(1, 40) AS i")
              .formatted(firstItem, batchId, tenant, failEvery));
    }
  }

  @Test
  void aFlagWatchingPrometheusWaitsOutNoDataExplainsABadQueryAndTurnsOffOnBreach()
      throws Exception {
    var prometheus = Prometheus.get();
    client
        .resource(
            flag(
                "ff-prom",
                """
                {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
                 "autoDisable": {"metric": "prometheus", "threshold": 0.2,
                                 "query": "max(portal_error_ratio{job=\\"tests\\"})"}}
                """))
        .create();
    client
        .resource(
            flag(
                "ff-prom-bad",
                """
                {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
                 "autoDisable": {"metric": "prometheus", "threshold": 0.2, "query": "portal_error_ratio{"}}
                """))
        .create();

    // No series yet: no data is not a breach, the flag stays on and says it is watching.
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(status("ff-prom").conditions)
                    .anySatisfy(
                        c -> {
                          assertThat(c.getType()).isEqualTo("AutoDisable");
                          assertThat(c.getReason()).isEqualTo("Watching");
                        }));
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(status("ff-prom-bad").conditions)
                    .anySatisfy(
                        c -> {
                          assertThat(c.getType()).isEqualTo("AutoDisable");
                          assertThat(c.getStatus()).isEqualTo("False");
                          assertThat(c.getReason()).isEqualTo("MetricUnavailable");
                          // Prometheus's own text stays in the operator's log.
                          assertThat(c.getMessage())
                              .contains(
                                  "Prometheus refused the query (HTTP 400, bad_data); the"
                                      + " operator's log has its answer.")
                              .doesNotContain(prometheus.url().getHost());
                        }));
    prometheus.set("portal_error_ratio", 0.05);
    await("a few checks (1 s apart in tests) see 0.05, under the threshold: it stays on")
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5))
        .until(() -> get("ff-prom").getSpec().state == FeatureFlagSpec.State.ENABLED);

    prometheus.set("portal_error_ratio", 0.35);
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              var flag = get("ff-prom");
              assertThat(flag.getSpec().state).isEqualTo(FeatureFlagSpec.State.DISABLED);
              assertThat(statusOf(flag).disabledReason)
                  .isEqualTo(
                      "Auto-disabled: the Prometheus query max(portal_error_ratio{job=\"tests\"})"
                          + " returned 0.350, over 0.200. Set spec.state to ENABLED to turn it back"
                          + " on.");
            });
    // Turned off by its metric: someone should look before turning it back on.
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(ArgoCdScripts.health(client, get("ff-prom")))
                    .isEqualTo(
                        new ArgoCdScripts.Health(
                            "Degraded", statusOf(get("ff-prom")).disabledReason)));
    assertThat(get("ff-prom-bad").getSpec().state)
        .as("a query Prometheus refuses never turns a flag off")
        .isEqualTo(FeatureFlagSpec.State.ENABLED);
    // Its refusals are logged at every check: later tests' logs need not carry them.
    client.resources(FeatureFlag.class).withName("ff-prom-bad").delete();
  }

  private static javax.sql.DataSource database() {
    return Postgres.get().dataSource("robusto", Postgres.OPERATOR_ROLE, Postgres.OPERATOR_PASSWORD);
  }

  private void tenant(String name) {
    var tenant = new Tenant();
    tenant.setMetadata(new ObjectMetaBuilder().withName(name).build());
    var spec = new TenantSpec();
    spec.setTier(Tier.STARTUP);
    tenant.setSpec(spec);
    client.resource(tenant).create();
  }

  private static FeatureFlag flag(String name, String spec) throws Exception {
    var flag = new FeatureFlag();
    flag.setMetadata(new ObjectMetaBuilder().withName(name).build());
    flag.setSpec(JSON.readValue(spec, FeatureFlagSpec.class));
    return flag;
  }

  private FeatureFlag get(String name) {
    return client.resources(FeatureFlag.class).withName(name).get();
  }

  /** The flag as the tenant's ConfigMap gives it to flagd; empty when absent. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> flagd(String tenant, String flag) throws Exception {
    var map =
        client
            .configMaps()
            .inNamespace("tenant-" + tenant)
            .withName(TenantFlagsConfigMap.NAME)
            .get();
    if (map == null) {
      return Map.of();
    }
    Map<String, Object> root =
        JSON.readValue(map.getData().get(TenantFlagsConfigMap.KEY), Map.class);
    var flags = (Map<String, Object>) root.get("flags");
    return (Map<String, Object>) flags.getOrDefault(flag, new HashMap<>());
  }

  /** The feature_flags row as "enabled variant value", or "none". */
  private static String row(String tenant, String flag) throws Exception {
    try (var c = database().getConnection();
        var q =
            c.prepareStatement(
                "SELECT enabled, variant, value::text FROM feature_flags WHERE tenant_id = ? AND flag_key = ?")) {
      q.setString(1, tenant);
      q.setString(2, flag);
      try (var rs = q.executeQuery()) {
        return rs.next()
            ? rs.getBoolean(1) + " " + rs.getString(2) + " " + rs.getString(3)
            : "none";
      }
    }
  }

  /**
   * The flag's status: an AssertionError (retried by untilAsserted) until the operator wrote it.
   */
  private FeatureFlagStatus status(String name) {
    return statusOf(get(name));
  }

  private static FeatureFlagStatus statusOf(FeatureFlag flag) {
    assertThat(flag.getStatus()).as("%s's status", flag.getMetadata().getName()).isNotNull();
    return flag.getStatus();
  }
}
