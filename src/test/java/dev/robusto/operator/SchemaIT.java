package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.robusto.testing.Postgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Flyway migrations and their rollback scripts against a real PostgreSQL. */
@Tag("db")
class SchemaIT {

  private static final List<String> MIGRATIONS =
      List.of(
          "V1__platform_schema.sql",
          "V2__tenant_isolation.sql",
          "V3__audit_log.sql",
          "V4__batch_queue.sql",
          "V5__deployment_fleet.sql",
          "V6__worker_functions.sql",
          "V7__tenant_identity.sql",
          "V8__queue_batch_index.sql",
          "V9__usage_metering.sql",
          "V10__bounded_retention.sql",
          "V11__worker_observations.sql",
          "V12__batch_control.sql",
          "V13__ticket_cancel.sql",
          "V14__merchant_observations.sql",
          "V15__api_calls.sql",
          "V16__batch_merchant.sql",
          "V17__ticket_steps.sql",
          "V18__complete_erasure.sql",
          "V19__tenant_rows_by_tenant.sql",
          "V20__runtime_role.sql",
          "V21__audit_seals.sql",
          "V22__audit_chain_hardening.sql",
          "V23__audit_actor_groups.sql",
          "V24__outcome_custody.sql",
          "V25__payload_encryption.sql",
          "V26__audit_reader_role.sql",
          "V27__outcome_by_key.sql");

  @Test
  void everyMigrationCanRunTwiceAndEveryRollbackRestoresThePriorSchema() throws Exception {
    var db = Postgres.get().newDatabase("schema_it");
    var before = new java.util.ArrayList<Set<String>>();
    for (var migration : MIGRATIONS) {
      before.add(fingerprint(db));
      run(db, "db/migration/" + migration);
      var once = fingerprint(db);
      run(db, "db/migration/" + migration);
      assertThat(fingerprint(db)).as("%s run twice", migration).isEqualTo(once);
    }
    for (int i = MIGRATIONS.size() - 1; i >= 0; i--) {
      run(db, "db/rollback/" + MIGRATIONS.get(i));
      assertThat(fingerprint(db))
          .as("schema after rolling back %s", MIGRATIONS.get(i))
          .isEqualTo(before.get(i));
    }
    assertThat(before.get(0)).as("rolling back everything leaves an empty schema").isEmpty();
  }

  @Test
  void flywayAppliesTheMigrationsOnceAndNothingTheSecondTime() {
    var db = Postgres.get().newDatabase("flyway_it");
    var flyway = Flyway.configure().dataSource(db).locations("classpath:db/migration").load();
    assertThat(flyway.migrate().migrationsExecuted).isEqualTo(MIGRATIONS.size());
    assertThat(flyway.migrate().migrationsExecuted).isZero();
  }

  /**
   * The operator's role reaches every table (row-level security included) and owns none; on the
   * audit log and its seals it may only read and append. The schema is enumerated, so a later table
   * without what the operator needs, or an RLS table without the operator's policy, fails here.
   */
  @Test
  void theOperatorsRoleReachesEveryTableOwnsNoneAndOnlyAppendsToTheAuditLog() throws Exception {
    var db = Postgres.get().migratedDatabase("runtime_role_it");
    var query =
        """
        SELECT c.relname, pg_get_userbyid(c.relowner),
               has_table_privilege('robusto_runtime', c.oid, 'SELECT'),
               has_table_privilege('robusto_runtime', c.oid, 'INSERT'),
               has_table_privilege('robusto_runtime', c.oid, 'UPDATE'),
               has_table_privilege('robusto_runtime', c.oid, 'DELETE'),
               has_table_privilege('robusto_runtime', c.oid, 'TRUNCATE'),
               NOT c.relrowsecurity OR EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid
                 AND 'robusto_runtime'::regrole = ANY (p.polroles) AND p.polpermissive)
          FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
           AND c.relname <> 'flyway_schema_history'
        """;
    var tables = new TreeSet<String>();
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(query)) {
      while (rs.next()) {
        var table = rs.getString(1);
        tables.add(table);
        assertThat(rs.getString(2)).as("%s's owner", table).isEqualTo(Postgres.OWNER_ROLE);
        var appendOnly = List.of("audit_log", "audit_seals", "outcome_custody").contains(table);
        assertThat(List.of(rs.getBoolean(3), rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6)))
            .as("%s: SELECT, INSERT, UPDATE, DELETE", table)
            .isEqualTo(List.of(true, true, !appendOnly, !appendOnly));
        assertThat(rs.getBoolean(7)).as("%s: TRUNCATE", table).isFalse();
        assertThat(rs.getBoolean(8))
            .as("%s: a policy lets the operator see every tenant", table)
            .isTrue();
      }
    }
    assertThat(tables).contains("audit_log", "audit_seals", "tenant_config", "automation_items");
    try (var c = db.getConnection();
        var rs =
            c.createStatement()
                .executeQuery(
                    "SELECT has_table_privilege('flyway_schema_history', 'INSERT'),"
                        + " pg_has_role('robusto_runtime', 'MEMBER'), rolsuper, rolbypassrls"
                        + " FROM pg_roles WHERE rolname = current_user")) {
      rs.next();
      assertThat(rs.getBoolean(1)).as("the operator writes no migration history").isFalse();
      assertThat(rs.getBoolean(2)).as("the migration step let the operator's login in").isTrue();
      assertThat(rs.getBoolean(3) || rs.getBoolean(4)).isFalse();
    }
  }

  @Test
  void theMigrationStepRefusesAnOperatorLoginThatOwnsTheSchema() {
    var db = Postgres.get().newDatabase("owner_is_runtime_it");
    assertThatThrownBy(() -> DatabaseMigration.migrate(db, Postgres.OWNER_ROLE))
        .hasMessageContaining("must not be the schema owner");
    assertThatThrownBy(() -> DatabaseMigration.migrate(db, "no_such_login"))
        .hasMessageContaining("does not exist: CREATE ROLE \"no_such_login\" LOGIN CREATEROLE");
  }

  /**
   * The audit checkpointer's login reads the chain's seq and hash, nothing else; the migration step
   * refuses one that could do more (the operator's, the owner's, one able to create roles).
   */
  @Test
  void theCheckpointersLoginReadsOnlyTheChainsPositionAndNoStrongerLoginIsAccepted()
      throws Exception {
    var db = Postgres.get().newDatabase("checkpointer_login_it");
    for (var login : List.of(Postgres.OPERATOR_ROLE, Postgres.OWNER_ROLE)) {
      assertThatThrownBy(() -> DatabaseMigration.migrate(db, Postgres.OPERATOR_ROLE, login))
          .as(login)
          .hasMessageContaining("can do more than read the audit chain's position");
    }
    assertThatThrownBy(
            () -> DatabaseMigration.migrate(db, Postgres.OPERATOR_ROLE, "no_such_checkpointer"))
        .hasMessageContaining(
            "does not exist or cannot log in: CREATE ROLE \"no_such_checkpointer\" LOGIN");
    DatabaseMigration.migrate(db, Postgres.OPERATOR_ROLE, Postgres.CHECKPOINTER_ROLE);
    try (var c = db.getConnection();
        var rs =
            c.createStatement()
                .executeQuery(
                    "SELECT has_column_privilege('robusto_audit_reader', 'audit_log', 'seq', 'SELECT'),"
                        + " has_column_privilege('robusto_audit_reader', 'audit_log', 'hash', 'SELECT'),"
                        + " (SELECT count(*) FROM information_schema.columns WHERE table_schema ="
                        + " 'public' AND has_column_privilege('robusto_audit_reader',"
                        + " format('%I', table_name), column_name, 'SELECT,INSERT,UPDATE,REFERENCES')),"
                        + " (SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
                        + " AND has_table_privilege('robusto_audit_reader', c.oid,"
                        + " 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE')),"
                        + " pg_has_role('robusto_checkpointer', 'robusto_audit_reader', 'MEMBER')")) {
      rs.next();
      assertThat(rs.getBoolean(1) && rs.getBoolean(2)).as("seq and hash").isTrue();
      assertThat(rs.getLong(3)).as("columns it may touch in the whole schema").isEqualTo(2);
      assertThat(rs.getLong(4)).as("whole tables it may touch").isZero();
      assertThat(rs.getBoolean(5)).as("the migration step let the checkpointer in").isTrue();
    }
  }

  /**
   * The README's upgrade from before the split: one login owned the schema, wrote the audit log and
   * made the tenant roles. A superuser hands the schema and the roles' admin to the owner, the
   * migration step runs, and the old login goes on as the operator's: owning nothing, still able to
   * manage the tenant role it made, and refused what it could do before.
   */
  @Test
  void anInstallFromBeforeTheSplitUpgradesAsTheReadmeSays() throws Exception {
    var postgres = Postgres.get();
    var database = "before_split_it";
    var login = "robusto_before_split";
    var tenantRole = "before_split_tenant";
    try (var c = postgres.superuser("postgres");
        var s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
      s.execute("DROP ROLE IF EXISTS " + tenantRole);
      s.execute("DROP ROLE IF EXISTS " + login);
      s.execute("CREATE ROLE " + login + " LOGIN CREATEROLE PASSWORD 'before'");
      // In an old install this login made robusto_tenant, so it holds its admin option.
      s.execute("GRANT robusto_tenant TO " + login + " WITH ADMIN OPTION");
      s.execute("CREATE DATABASE " + database + " OWNER " + login);
    }
    var old = postgres.dataSource(database, login, "before");
    Flyway.configure()
        .dataSource(old)
        .locations("classpath:db/migration")
        .target("19")
        .load()
        .migrate();
    try (var c = old.getConnection();
        var s = c.createStatement()) {
      s.execute("CREATE ROLE " + tenantRole + " LOGIN IN ROLE robusto_tenant");
      s.execute(
          "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
              + " max_daily_jobs, requests_per_minute) VALUES ('old', 'startup', 'tenant-old', 3,"
              + " 100, 600)");
      s.execute(
          "INSERT INTO tenant_db_roles (role_name, tenant_id) VALUES ('"
              + tenantRole
              + "', 'old')");
      s.execute(
          "INSERT INTO audit_log (actor, action, resource) VALUES ('robusto-operator/tenant',"
              + " 'create', 'Namespace/tenant-old')");
    }
    assertThatThrownBy(() -> DatabaseMigration.migrate(postgres.owner(database), login))
        .as("before the superuser's step")
        .hasMessageContaining("REASSIGN OWNED BY \"" + login + "\" TO <owner>");

    try (var c = postgres.superuser(database);
        var s = c.createStatement()) {
      s.execute("REASSIGN OWNED BY " + login + " TO " + Postgres.OWNER_ROLE);
      s.execute("GRANT robusto_tenant TO " + Postgres.OWNER_ROLE + " WITH ADMIN OPTION");
      s.execute("GRANT " + tenantRole + " TO " + Postgres.OWNER_ROLE + " WITH ADMIN OPTION");
    }
    var latest = MIGRATIONS.get(MIGRATIONS.size() - 1);
    assertThat(DatabaseMigration.migrate(postgres.owner(database), login))
        .isEqualTo(latest.substring(1, latest.indexOf("__")));

    try (var c = old.getConnection();
        var s = c.createStatement()) {
      s.execute("ALTER ROLE " + tenantRole + " CONNECTION LIMIT 3");
      s.execute("DROP ROLE " + tenantRole);
      assertThatThrownBy(() -> s.execute("UPDATE audit_log SET actor = 'x'"))
          .hasMessageContaining("permission denied");
      var owned =
          s.executeQuery(
              "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole"
                  + " AND relnamespace = 'public'::regnamespace");
      owned.next();
      assertThat(owned.getLong(1)).as("the old login owns nothing now").isZero();
    }
  }

  @Test
  void constraintsKeepTheSeedsVocabularyAndCascade() throws Exception {
    var db = Postgres.get().migratedDatabase("constraints_it");
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs, max_daily_jobs,"
              + " requests_per_minute) VALUES ('acme', 'startup', 'tenant-acme', 3, 100, 600)");
      s.execute(
          "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, priority)"
              + " VALUES ('00000000-0000-0000-0000-000000000001', 'acme', 'tenant-acme', 'fin-de-mes', 'urgente')");
      assertThatThrownBy(
              () ->
                  s.execute(
                      "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, priority)"
                          + " VALUES (gen_random_uuid(), 'acme', 'tenant-acme', 'x', 'high')"))
          .hasMessageContaining("automation_batches_priority_check");
      s.execute(
          "INSERT INTO automation_items (batch_id, tenant_id, idempotency_key, priority, state)"
              + " VALUES ('00000000-0000-0000-0000-000000000001', 'acme', 'ticket-1', 'alta', 'pending'),"
              + " ('00000000-0000-0000-0000-000000000001', 'acme', 'ticket-2', 'urgente', 'pending')");
      s.execute(
          "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
              + " payload, state, attempts, created_at, finished_at) VALUES (1000,"
              + " '00000000-0000-0000-0000-000000000001', 'acme', 'ticket-0', '{}', 'succeeded', 1,"
              + " now() - interval '41 days', now() - interval '40 days')");
      assertThatThrownBy(
              () ->
                  s.execute(
                      "UPDATE automation_items SET state = 'succeeded' WHERE idempotency_key = 'ticket-1'"))
          .as("finished items leave the queue table")
          .hasMessageContaining("automation_items_state_check");
      assertThatThrownBy(
              () ->
                  s.execute(
                      "INSERT INTO automation_items (batch_id, tenant_id, idempotency_key)"
                          + " VALUES ('00000000-0000-0000-0000-000000000001', 'acme', 'ticket-1')"))
          .as("an idempotency key is accepted once per tenant")
          .hasMessageContaining("automation_items_tenant_id_idempotency_key_key");
      assertThatThrownBy(
              () ->
                  s.execute(
                      "INSERT INTO automation_items (batch_id, tenant_id, idempotency_key, state)"
                          + " VALUES ('00000000-0000-0000-0000-000000000001', 'acme', 'ticket-3', 'running')"))
          .as("a running item has a lease and a claim token")
          .hasMessageContaining("check");

      var rank =
          s.executeQuery(
              "SELECT priority_rank FROM automation_items WHERE idempotency_key = 'ticket-2'");
      rank.next();
      assertThat(rank.getInt(1)).as("urgente claims first").isZero();

      var sweep =
          "SELECT rows_deleted FROM robusto_retention_cleanup(now() - interval '30 days',"
              + " current_date - 400, 1000) WHERE table_name = 'automation_item_outcomes'";
      var kept = s.executeQuery(sweep);
      kept.next();
      assertThat(kept.getLong(1)).as("an old outcome of a batch with tickets queued").isZero();
      s.execute("DELETE FROM automation_items");
      var cleanup = s.executeQuery(sweep);
      cleanup.next();
      assertThat(cleanup.getLong(1)).as("the outcome finished 40 days ago").isEqualTo(1);

      s.execute("DELETE FROM tenant_config WHERE tenant_id = 'acme'");
      var left =
          s.executeQuery(
              "SELECT (SELECT count(*) FROM automation_items) + (SELECT count(*) FROM automation_batches)"
                  + " + (SELECT count(*) FROM automation_item_outcomes)");
      left.next();
      assertThat(left.getLong(1)).as("a tenant's rows go with it").isZero();
    }
  }

  private static void run(DataSource db, String resource) throws IOException, SQLException {
    String sql;
    try (var in = SchemaIT.class.getClassLoader().getResourceAsStream(resource)) {
      sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      c.setAutoCommit(false);
      s.execute(sql);
      c.commit();
    }
  }

  /** Everything a migration creates in the database: tables, columns, indexes, functions, ... */
  private static Set<String> fingerprint(DataSource db) throws SQLException {
    var query =
        """
        SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
          FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
        UNION ALL SELECT 'policy ' || tablename || '.' || policyname || ' ' || coalesce(qual, '')
          FROM pg_policies WHERE schemaname = 'public'
        UNION ALL SELECT 'trigger ' || tgrelid::regclass || '.' || tgname
          FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL SELECT 'rls ' || relname || ' ' || relrowsecurity
          FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
        UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT 'grant ' || table_name || ' ' || grantee || ' ' || privilege_type
          FROM information_schema.role_table_grants WHERE table_schema = 'public' AND grantee LIKE 'robusto_%'
        UNION ALL SELECT 'execute ' || p.proname || ' ' || coalesce(r.rolname, 'PUBLIC')
          FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
          LEFT JOIN pg_roles r ON r.oid = a.grantee
          WHERE p.pronamespace = 'public'::regnamespace AND a.privilege_type = 'EXECUTE'
            AND (a.grantee = 0 OR r.rolname LIKE 'robusto_%')
        UNION ALL SELECT 'default ' || d.defaclobjtype::text || ' ' || r.rolname || ' ' || a.privilege_type
          FROM pg_default_acl d, aclexplode(d.defaclacl) a JOIN pg_roles r ON r.oid = a.grantee
          WHERE r.rolname LIKE 'robusto_%'
        """;
    var result = new TreeSet<String>();
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(query)) {
      while (rs.next()) {
        result.add(rs.getString(1));
      }
    }
    return result;
  }
}
