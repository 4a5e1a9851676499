package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Each Tenant's PostgreSQL identity, made by the operator on a real PostgreSQL and cluster. */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class TenantDatabaseIT {

  private final KubernetesClient client = LocalCluster.get().client();

  @Test
  void aTenantsRoleLogsInWithItsTiersLimitsAndReachesNoTable() throws Exception {
    create("db-uno", Tier.STARTUP);
    create("db-dos", Tier.ENTERPRISE);
    var uno = awaitDatabaseReady("db-uno");
    var dos = awaitDatabaseReady("db-dos");
    assertThat(uno.getStatus().getDatabase().getRole()).isEqualTo("t_db_uno_a");
    // Two per concurrent job (a worker's pool) plus the tier's room for fleet workers.
    assertThat(connectionLimit("t_db_uno_a")).as("startup tier: 3 jobs").isEqualTo(3 * 2 + 5);
    assertThat(connectionLimit("t_db_dos_a")).as("enterprise tier: 20 jobs").isEqualTo(20 * 2 + 20);

    // Only the worker functions (TenantIsolationIT attacks them): no table, not even its own rows.
    try (var a = connect("db-uno")) {
      assertThat(names(a, "SHOW statement_timeout")).containsExactly("30s");
      assertThat(names(a, "SHOW idle_in_transaction_session_timeout")).containsExactly("30s");
      for (var sql :
          List.of(
              "SELECT name FROM automation_batches",
              "SELECT tenant_id FROM tenant_config",
              "SELECT * FROM audit_log",
              "UPDATE tenant_config SET max_daily_jobs = 100000")) {
        assertThatThrownBy(() -> a.createStatement().execute(sql))
            .as(sql)
            .hasMessageContaining("permission denied");
      }
    }
    assertThat(dos.getStatus().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("DatabaseReady");
              assertThat(c.getMessage()).contains("t_db_dos_a").contains("connection limit 60");
            });
  }

  @Test
  void rotationKeepsTheOldCredentialValidUntilTheGracePeriodEnds() throws Exception {
    create("db-rota", Tier.STARTUP);
    awaitDatabaseReady("db-rota");
    var before = credentials("db-rota");
    try (var old = connect(before)) {
      client
          .resources(Tenant.class)
          .withName("db-rota")
          .edit(
              t -> {
                t.getSpec().getDatabase().setCredentialsRotation("2026-11");
                return t;
              });
      var rotated =
          await()
              .atMost(Duration.ofSeconds(30))
              .until(
                  () -> client.resources(Tenant.class).withName("db-rota").get(),
                  t -> "t_db_rota_b".equals(t.getStatus().getDatabase().getRole()));
      assertThat(rotated.getStatus().getDatabase().getPreviousRole()).isEqualTo("t_db_rota_a");
      var after = credentials("db-rota");
      assertThat(after[0]).isEqualTo("t_db_rota_b");
      assertThat(after[1]).isNotEqualTo(before[1]);
      // Both work during the switch: the open session, a new one with the old password, the new
      // one.
      assertThat(names(old, "SELECT current_user")).containsExactly("t_db_rota_a");
      connect(before).close();
      connect(after).close();
      // After the grace period (10 s in the tests) the old role can no longer log in.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThatThrownBy(() -> connect(before).close())
                      .isInstanceOf(SQLException.class));
      connect(after).close();
      assertThatThrownBy(() -> names(old, "SELECT current_user"))
          .as("the old credential's open session ended with its grace period")
          .isInstanceOf(SQLException.class);
    }
    // The audit entry follows the lock it records by a commit.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(auditedActions("db-rota"))
                    .contains(
                        "rotate postgres-role/t_db_rota_b", "update postgres-role/t_db_rota_a"));
  }

  @Test
  void deletingATenantDropsItsRolesAndErasesOrRetainsItsRowsAsAsked() throws Exception {
    client
        .resource(
            TestTenants.tenant(
                "db-borrar",
                Tier.STARTUP,
                spec -> spec.getDatabase().setOnDelete(TenantDatabaseSpec.OnDelete.Erase)))
        .create();
    create("db-guardar", Tier.STARTUP);
    awaitDatabaseReady("db-borrar");
    awaitDatabaseReady("db-guardar");
    insertBatch("db-borrar", "x");
    insertBatch("db-guardar", "y");
    for (var tenant : List.of("db-borrar", "db-guardar")) {
      insertHistory(tenant);
    }
    // A hostile tenant tries to hold its own deletion up: default privileges that make a plain
    // DROP ROLE fail, and a session left in an open transaction.
    var hostile = connect("db-borrar");
    hostile.createStatement().execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC");
    hostile.setAutoCommit(false);
    hostile.createStatement().execute("SELECT current_user");

    client.resources(Tenant.class).withName("db-borrar").delete();
    client.resources(Tenant.class).withName("db-guardar").delete();
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () -> {
              assertThat(client.resources(Tenant.class).withName("db-borrar").get()).isNull();
              assertThat(client.resources(Tenant.class).withName("db-guardar").get()).isNull();
            });
    assertThatThrownBy(() -> hostile.createStatement().execute("SELECT 1"))
        .as("the tenant's session was ended")
        .isInstanceOf(SQLException.class);
    hostile.close();
    assertThat(
            rows(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE 't_db_borrar_%' OR rolname LIKE 't_db_guardar_%'"))
        .as("the roles went, default privileges and all")
        .isZero();
    // Every table that names a tenant (but the audit trail, which records the erasure), so a table
    // added later is checked too; and the API calls of its namespace.
    List<String> tables;
    try (var c = Postgres.get().superuser("robusto")) {
      tables =
          TenantExportApi.tenantTables(c).stream().filter(t -> !t.equals("audit_log")).toList();
    }
    assertThat(tables)
        .contains("automation_item_keys", "automation_attempts", "automation_ticket_steps");
    for (var table : tables) {
      assertThat(rows("SELECT count(*) FROM " + table + " WHERE tenant_id = 'db-borrar'"))
          .as("the erased tenant's rows in " + table)
          .isZero();
    }
    assertThat(rows("SELECT count(*) FROM api_calls WHERE namespace = 'tenant-db-borrar'"))
        .isZero();
    for (var table :
        List.of(
            "automation_batches",
            "automation_item_keys",
            "automation_item_outcomes",
            "automation_ticket_steps",
            "automation_attempts")) {
      assertThat(rows("SELECT count(*) FROM " + table + " WHERE tenant_id = 'db-guardar'"))
          .as("the retained tenant's rows in " + table)
          .isPositive();
    }
    assertThat(rows("SELECT count(*) FROM api_calls WHERE namespace = 'tenant-db-guardar'"))
        .isOne();
    assertThat(auditedActions("db-borrar"))
        .contains("erase tenant-rows/db-borrar", "delete postgres-role/t_db_borrar_a");
    assertThat(auditedActions("db-guardar")).contains("retain tenant-rows/db-guardar");
  }

  @Test
  void aNameReusedAfterRetentionGetsNoneOfTheOldRowsUnlessItAdoptsThem() throws Exception {
    create("db-reuso", Tier.STARTUP);
    awaitDatabaseReady("db-reuso");
    insertBatch("db-reuso", "viejo");
    deleteAndAwaitGone("db-reuso");
    assertThat(rows("SELECT count(*) FROM tenant_config WHERE tenant_id = 'db-reuso'"))
        .as("onDelete: Retain kept the row")
        .isEqualTo(1);

    // The freed namespace can go to another Tenant; a lookup finds it, not the retained rows.
    await()
        .atMost(Duration.ofSeconds(90))
        .until(() -> client.namespaces().withName("tenant-db-reuso").get() == null);
    client
        .resource(
            TestTenants.tenant(
                "db-ajeno", Tier.STARTUP, spec -> spec.setNamespace("tenant-db-reuso")))
        .create();
    awaitDatabaseReady("db-ajeno");
    var store =
        new TenantDirectory(
            Postgres.get()
                .dataSource("robusto", Postgres.OPERATOR_ROLE, Postgres.OPERATOR_PASSWORD));
    assertThat(store.ofNamespace("tenant-db-reuso").orElseThrow().tenantId()).isEqualTo("db-ajeno");

    // Someone else creates a Tenant of the retained name, set to erase its rows on deletion.
    client
        .resource(
            TestTenants.tenant(
                "db-reuso",
                Tier.STARTUP,
                spec -> {
                  spec.setNamespace("tenant-db-reuso-2");
                  spec.getDatabase().setOnDelete(TenantDatabaseSpec.OnDelete.Erase);
                }))
        .create();
    var refused = TenantIT.awaitCondition(client, "db-reuso", "RetainedRowsConflict", "True");
    var ready =
        refused.getStatus().getConditions().stream()
            .filter(c -> c.getType().equals("Ready"))
            .findFirst()
            .orElseThrow();
    assertThat(ready.getStatus()).isEqualTo("False");
    assertThat(ready.getReason()).isEqualTo("RetainedRowsConflict");
    assertThat(ready.getMessage()).contains("spec.database.adoptRetained: true");
    assertThat(client.namespaces().withName("tenant-db-reuso-2").get())
        .as("nothing is provisioned for it")
        .isNull();
    assertThat(rows("SELECT count(*) FROM pg_roles WHERE rolname LIKE 't_db_reuso_%'")).isZero();
    deleteAndAwaitGone("db-reuso");
    assertThat(rows("SELECT count(*) FROM automation_batches WHERE tenant_id = 'db-reuso'"))
        .as("deleting it with onDelete: Erase erased nothing of the earlier tenant's")
        .isEqualTo(1);

    // Asked explicitly, a Tenant takes the retained rows over.
    var adopter =
        client
            .resource(
                TestTenants.tenant(
                    "db-reuso",
                    Tier.STARTUP,
                    spec -> {
                      spec.setNamespace("tenant-db-reuso-3");
                      spec.getDatabase().setAdoptRetained(true);
                    }))
            .create();
    awaitDatabaseReady("db-reuso");
    assertThat(
            rows(
                "SELECT count(*) FROM tenant_config WHERE tenant_id = 'db-reuso' AND retained_at IS NULL"
                    + " AND tenant_uid = '"
                    + adopter.getMetadata().getUid()
                    + "'"))
        .isEqualTo(1);
    assertThat(rows("SELECT count(*) FROM automation_batches WHERE tenant_id = 'db-reuso'"))
        .isEqualTo(1);
    assertThat(store.ofNamespace("tenant-db-reuso-3").orElseThrow().tenantId())
        .isEqualTo("db-reuso");
    assertThat(auditedActions("db-reuso")).contains("update tenant_config/db-reuso");
  }

  private void deleteAndAwaitGone(String name) {
    client.resources(Tenant.class).withName(name).delete();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> client.resources(Tenant.class).withName(name).get() == null);
  }

  @Test
  void everyChangeIsAuditedAndNoSecretReachesTheAuditLog() throws Exception {
    create("db-audit", Tier.STARTUP);
    awaitDatabaseReady("db-audit");
    assertThat(auditedActions("db-audit"))
        .contains(
            "create Namespace/tenant-db-audit",
            "create ResourceQuota/tenant-db-audit/tenant-quota",
            "create NetworkPolicy/tenant-db-audit/tenant-isolation",
            "create tenant_config/db-audit",
            "create postgres-role/t_db_audit_a",
            "create Secret/tenant-db-audit/robusto-database");
    var password = credentials("db-audit")[1];
    try (var c = Postgres.get().superuser("robusto");
        var rs = c.createStatement().executeQuery("SELECT audit_log::text FROM audit_log")) {
      while (rs.next()) {
        assertThat(rs.getString(1)).doesNotContain(password);
      }
    }
  }

  private void create(String name, Tier tier) {
    client.resource(TestTenants.tenant(name, tier, spec -> {})).create();
  }

  private Tenant awaitDatabaseReady(String name) {
    return TenantIT.awaitCondition(client, name, "DatabaseReady", "True");
  }

  private String[] credentials(String tenant) {
    Secret secret =
        client.secrets().inNamespace("tenant-" + tenant).withName(TenantDatabaseSync.SECRET).get();
    var decode =
        (java.util.function.Function<String, String>)
            key ->
                new String(
                    Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
    assertThat(decode.apply("jdbc-url")).isEqualTo(Postgres.get().jdbcUrl("robusto"));
    return new String[] {decode.apply("username"), decode.apply("password")};
  }

  private Connection connect(String tenant) throws SQLException {
    return connect(credentials(tenant));
  }

  private static Connection connect(String[] credentials) throws SQLException {
    return DriverManager.getConnection(
        Postgres.get().jdbcUrl("robusto"), credentials[0], credentials[1]);
  }

  /** A batch row of the tenant's, as the operator writes it. */
  static void insertBatch(String tenant, String name) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var insert =
            c.prepareStatement(
                "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name) VALUES (gen_random_uuid(), ?, ?, ?)")) {
      insert.setString(1, tenant);
      insert.setString(2, "tenant-" + tenant);
      insert.setString(3, name);
      insert.executeUpdate();
    }
  }

  /**
   * What a tenant leaves behind besides its queue: an invoiced ticket (its outcome, its key and its
   * step), a fleet's attempt and a call to the ticket API.
   */
  static void insertHistory(String tenant) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var s = c.createStatement()) {
      var id = "'" + tenant + "'";
      var batch = "(SELECT batch_id FROM automation_batches WHERE tenant_id = " + id + " LIMIT 1)";
      s.execute(
          "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
              + " payload, state, attempts, created_at) SELECT nextval(pg_get_serial_sequence("
              + "'automation_items', 'item_id')), "
              + batch
              + ", "
              + id
              + ", 'F-1', '{\"rfc\": \"XAXX010101000\"}', 'succeeded', 1, now()");
      s.execute(
          "INSERT INTO automation_item_keys (tenant_id, idempotency_key, batch_id) SELECT "
              + id
              + ", 'F-1', "
              + batch);
      s.execute(
          "INSERT INTO automation_ticket_steps (item_id, attempt, batch_id, tenant_id,"
              + " idempotency_key, started_at, duration_ms, outcome) SELECT item_id, 1, batch_id,"
              + " tenant_id, idempotency_key, now(), 40, 'succeeded' FROM automation_item_outcomes"
              + " WHERE tenant_id = "
              + id);
      // What a worker committing across its batch's deletion leaves: an outcome and a step whose
      // batch is gone, which no batch trigger sees.
      s.execute(
          "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
              + " payload, state, attempts, created_at) VALUES (nextval(pg_get_serial_sequence("
              + "'automation_items', 'item_id')), gen_random_uuid(), "
              + id
              + ", 'huerfano', '{}', 'succeeded', 1, now())");
      s.execute(
          "INSERT INTO automation_ticket_steps (item_id, attempt, batch_id, tenant_id,"
              + " idempotency_key, started_at, duration_ms, outcome) VALUES (-1, 1,"
              + " gen_random_uuid(), "
              + id
              + ", 'huerfano', now(), 1, 'failed') ON CONFLICT DO NOTHING");
      s.execute(
          "INSERT INTO automation_attempts (tenant_id, deployment, revision, failed, duration_ms)"
              + " VALUES ("
              + id
              + ", 'flota', 1, false, 40)");
      s.execute(
          "INSERT INTO api_calls (day, namespace, caller, version, endpoint, calls, last_call_at,"
              + " tenant_id) VALUES (current_date, 'tenant-"
              + tenant
              + "', 'caja', 'v1', 'GET /tickets/{id}', 3, now(), "
              + id
              + ")");
    }
  }

  private static List<String> names(Connection c, String sql) throws SQLException {
    var names = new ArrayList<String>();
    try (var rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    return names;
  }

  private static long rows(String sql) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static int connectionLimit(String role) throws SQLException {
    return (int) rows("SELECT rolconnlimit FROM pg_roles WHERE rolname = '" + role + "'");
  }

  private static List<String> auditedActions(String tenant) throws SQLException {
    try (var c = Postgres.get().superuser("robusto");
        var q =
            c.prepareStatement(
                "SELECT action || ' ' || resource FROM audit_log WHERE tenant_id = ? ORDER BY seq")) {
      q.setString(1, tenant);
      var actions = new ArrayList<String>();
      try (var rs = q.executeQuery()) {
        while (rs.next()) {
          actions.add(rs.getString(1));
        }
      }
      return actions;
    }
  }
}
