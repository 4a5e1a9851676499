package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.DailyLedger;
import dev.robusto.queue.WorkQueue;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import dev.robusto.worker.SimulatedProcessor;
import dev.robusto.worker.WorkerConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A hostile tenant against the database boundary, on a real PostgreSQL with roles the operator
 * made. The attacker logs in exactly as its owner can: with the credentials in its namespace's
 * Secret. Meanwhile a neighbour's batch is worked by real worker processes, and must end with every
 * ticket recorded exactly once, untouched by anything the attacker tried.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class TenantIsolationIT {

  private static final int NEIGHBOUR_TICKETS = 400;

  private final KubernetesClient client = LocalCluster.get().client();
  private final DataSource operator =
      Postgres.get().dataSource("robusto", Postgres.OPERATOR_ROLE, Postgres.OPERATOR_PASSWORD);
  private final List<Process> workers = new ArrayList<>();

  @AfterEach
  void stopWorkers() {
    workers.forEach(Process::destroyForcibly);
  }

  @Test
  void aTenantsCredentialsReachNeitherTablesNorAnotherTenantsTickets() throws Exception {
    TestTenants.ready(client, "iso-hostil", Tier.ENTERPRISE, null);
    TestTenants.ready(client, "iso-vecino", Tier.ENTERPRISE, null);
    var mine = batch("iso-hostil", "propio", 20);
    var neighbours = batch("iso-vecino", "cierre", NEIGHBOUR_TICKETS);
    var neighbourCredentials = TestTenants.databaseCredentials(client, "iso-vecino");
    // One of the neighbour's claims, token and all, before its workers start: the attacker is
    // handed it below.
    var neighbourClaim = claimAsNeighbour(neighbours, neighbourCredentials);
    for (var i = 0; i < 2; i++) {
      workers.add(
          WorkerProcesses.start(workerEnv(neighbours, neighbourCredentials), "vecino-" + i));
    }

    try (var hostile = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"))) {
      // Tables: not one privilege, so no lock, no squatted key, no counter, no fake outcome.
      for (var attack :
          List.of(
              "LOCK TABLE automation_items IN ACCESS EXCLUSIVE MODE",
              "INSERT INTO automation_items (item_id, batch_id, tenant_id, idempotency_key)"
                  + " OVERRIDING SYSTEM VALUE VALUES (999999, '"
                  + neighbours
                  + "', 'iso-hostil', 'squat')",
              "UPDATE automation_items SET state = 'pending' WHERE state = 'held'",
              "UPDATE automation_metrics SET jobs_admitted = 0",
              "UPDATE automation_usage SET jobs_succeeded = 0 WHERE tenant_id = 'iso-vecino'",
              "INSERT INTO automation_latency (tenant_id, day, le_ms, tickets)"
                  + " VALUES ('iso-vecino', current_date, 100, 1000000)",
              "SELECT robusto_count_retries('iso-vecino', 1000000)",
              "INSERT INTO automation_attempt_latency (tenant_id, day, le_ms, attempts)"
                  + " VALUES ('iso-vecino', current_date, 100, 1000000)",
              "DELETE FROM automation_circuits WHERE tenant_id = 'iso-vecino'",
              "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
                  + " payload, state, attempts, created_at) VALUES (1, '"
                  + mine
                  + "', 'iso-hostil', 'fake', '{}', 'failed', 1, now())",
              "INSERT INTO automation_attempts (tenant_id, deployment, revision, failed,"
                  + " duration_ms) VALUES ('iso-vecino', 'x', 1, true, 1)",
              "SELECT * FROM tenant_config",
              "SELECT * FROM automation_item_keys",
              "SELECT robusto_retention_cleanup(now(), current_date, 10)")) {
        hostile.setAutoCommit(false); // LOCK TABLE needs a transaction
        assertThatThrownBy(() -> hostile.createStatement().execute(attack))
            .as(attack)
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("permission denied");
        hostile.rollback();
        hostile.setAutoCommit(true);
      }

      // A temporary table named like the one the functions read does not change who it is.
      var shadow = hostile.createStatement();
      shadow.execute("CREATE TEMP TABLE tenant_db_roles (role_name text, tenant_id text)");
      shadow.execute(
          "INSERT INTO tenant_db_roles VALUES ('t_iso_hostil_a', 'iso-vecino'), (session_user,"
              + " 'iso-vecino')");
      shadow.execute("SET search_path = pg_temp, public");

      // The functions: the neighbour's batch, items and even a real claim token get nothing.
      assertThat(
              rows(
                  hostile,
                  "SELECT * FROM robusto_worker_claim(?, NULL, 'h', 1000, 60000)",
                  neighbours))
          .as("the neighbour's batch yields no claim")
          .isZero();
      assertThat(longValue(hostile, "SELECT robusto_worker_live_items(?)", neighbours)).isZero();
      var stolen =
          hostile.prepareStatement(
              "SELECT * FROM robusto_worker_succeed(ARRAY[?]::bigint[], ARRAY[?]::uuid[])");
      stolen.setLong(1, neighbourClaim.itemId());
      stolen.setObject(2, neighbourClaim.token());
      assertThat(count(stolen)).as("a neighbour's claim, even with its token").isZero();
      var failed = hostile.prepareStatement("SELECT robusto_worker_fail(?, ?, 'x', true, 0)");
      failed.setLong(1, neighbourClaim.itemId());
      failed.setObject(2, neighbourClaim.token());
      try (var rs = failed.executeQuery()) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("fenced");
      }
      assertThat(longValue(hostile, "SELECT robusto_worker_rescue(?, NULL)", neighbours)).isZero();
      releaseAsNeighbour(neighbourClaim, neighbourCredentials);

      // Its own tickets: bounded however it asks.
      assertThat(
              rows(
                  hostile,
                  "SELECT * FROM robusto_worker_claim(?, NULL, 'h', 2000000000, 9000000000)",
                  mine))
          .as("its own batch: all 20 tickets, a claim of 2 billion cut to 1,000")
          .isEqualTo(20);
      assertThat(
              longValue(
                  operator,
                  "SELECT count(*) FROM automation_items WHERE batch_id = ?"
                      + " AND lease_expires_at > now() + interval '10 minutes 5 seconds'",
                  mine))
          .as("a lease of 104 days was cut to 10 minutes")
          .isZero();
    }

    // A transaction left open, with the session's own timeouts turned off, is ended.
    var open = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"));
    open.createStatement().execute("SET idle_in_transaction_session_timeout = 0");
    open.createStatement().execute("SET statement_timeout = 0");
    open.setAutoCommit(false);
    open.createStatement().execute("SELECT robusto_worker_live_items('" + mine + "')");
    long pid;
    try (var rs = open.createStatement().executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      pid = rs.getLong(1);
    }
    // Watched from outside: a statement in the session would end its idleness.
    await("the watchdog ends the session idle in its transaction")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                longValue(operator, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", pid)
                    == 0);
    assertThatThrownBy(() -> open.createStatement().execute("SELECT 1"))
        .isInstanceOf(SQLException.class);
    open.close();
    await("the ended session's audit entry, which follows it")
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                longValue(
                        operator,
                        "SELECT count(*) FROM audit_log WHERE action = 'delete'"
                            + " AND resource = 'postgres-session/' || ?",
                        "t_iso_hostil_a")
                    > 0);

    // An advisory lock on the audit chain's key, held outside any transaction, is ended too.
    var locker = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"));
    long lockerPid;
    try (var rs =
        locker
            .createStatement()
            .executeQuery(
                "SELECT pg_backend_pid(), pg_advisory_lock(hashtext('robusto.audit_log'))")) {
      rs.next();
      lockerPid = rs.getLong(1);
    }
    await("the watchdog ends the session holding an advisory lock")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                longValue(
                        operator, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", lockerPid)
                    == 0);
    locker.close();

    // A worker function's own lock, under the tenant's own name, is spared: a merchant report in
    // its transaction is not a tenant holding a lock (ending it killed workers' reports).
    try (var reporter =
        TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"))) {
      reporter.setAutoCommit(false);
      long reporterPid;
      try (var rs =
          reporter
              .createStatement()
              .executeQuery(
                  "SELECT pg_backend_pid(),"
                      + " robusto_worker_report_merchant('oxxo', 1, 0, 0, 'primary')")) {
        rs.next();
        reporterPid = rs.getLong(1);
      }
      // Two sweeps of the watchdog (1 s apart here), within the 3 s a transaction may sit idle.
      Thread.sleep(2_000);
      assertThat(
              longValue(
                  operator, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", reporterPid))
          .as("the reporting session lives")
          .isEqualTo(1);
      reporter.commit();
    }
    // The same lock under another tenant's name would stall that tenant's reports: ended.
    var squatter = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"));
    long squatterPid;
    try (var rs =
        squatter
            .createStatement()
            .executeQuery(
                "SELECT pg_backend_pid(),"
                    + " pg_advisory_lock(hashtext('robusto.merchants'), hashtext('iso-vecino'))")) {
      rs.next();
      squatterPid = rs.getLong(1);
    }
    await("the watchdog ends the session holding another tenant's report lock")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                longValue(
                        operator,
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ?",
                        squatterPid)
                    == 0);
    squatter.close();

    // Arrays a one-dimensional cap would not bound are refused.
    try (var hostile = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"))) {
      assertThatThrownBy(
              () ->
                  hostile
                      .createStatement()
                      .execute(
                          "SELECT robusto_worker_record_attempts('x', 1,"
                              + " array_fill(true, ARRAY[2, 10000]), array_fill(1, ARRAY[2, 10000]))"))
          .hasMessageContaining("at most 10,000");
    }

    // Circuit reports: bounded per call and per tenant, and only ever the caller's own.
    try (var c = operator.getConnection()) {
      c.createStatement()
          .execute(
              "INSERT INTO automation_circuits (tenant_id, worker, endpoint, open)"
                  + " VALUES ('iso-vecino', 'w-0', 'portal.vecino:443', true)");
    }
    try (var hostile = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"))) {
      for (var attack :
          List.of(
              "SELECT robusto_worker_report_circuits('w', array_fill('e:443'::text, ARRAY[17]),"
                  + " array_fill(true, ARRAY[17]))",
              "SELECT robusto_worker_report_circuits('w', ARRAY[repeat('e', 252) || ':443'],"
                  + " ARRAY[true])",
              "SELECT robusto_worker_report_circuits(repeat('w', 254), ARRAY['e:443'],"
                  + " ARRAY[true])",
              "SELECT robusto_worker_report_circuits('w', ARRAY['e:443'], ARRAY[NULL::boolean])",
              // Free text, which would reach metric labels and alert summaries.
              "SELECT robusto_worker_report_circuits('w', ARRAY['Portal caído: llamen al 555'],"
                  + " ARRAY[true])")) {
        assertThatThrownBy(() -> hostile.createStatement().execute(attack))
            .as(attack)
            .hasMessageContaining("at most 16 circuits");
      }
      var flood =
          "SELECT robusto_worker_report_circuits('w-' || g, ARRAY(SELECT 'e' || i || ':443' FROM"
              + " generate_series(1, 16) i), array_fill(true, ARRAY[16])) FROM generate_series(0, %d) g";
      hostile.createStatement().execute(flood.formatted(11)); // 192 circuits
      assertThatThrownBy(() -> hostile.createStatement().execute(flood.formatted(12)))
          .hasMessageContaining("at most 200 circuits");
      hostile.createStatement().execute("SELECT robusto_worker_report_circuits('w-0', '{}', '{}')");
    }
    assertThat(
            longValue(
                operator,
                "SELECT count(*) FROM automation_circuits WHERE tenant_id = ?"
                    + " AND worker = 'w-0' AND open",
                "iso-vecino"))
        .as("the neighbour's report, under the worker name the attacker withdrew")
        .isEqualTo(1);
    assertThat(
            longValue(
                operator,
                "SELECT count(*) FROM automation_circuits WHERE tenant_id = ?",
                "iso-hostil"))
        .as("the attacker's reports: 12 workers, one withdrawn")
        .isEqualTo(11 * 16);

    // Ticket steps: written only for attempts the database handed out at the caller's own tickets,
    // however well the attacker knows its neighbour's ticket ids.
    String bothTenantsItems;
    try (var c = operator.getConnection();
        var rs =
            c.createStatement()
                .executeQuery(
                    "SELECT array_agg(item_id)::text FROM (SELECT item_id FROM automation_items"
                        + " UNION ALL SELECT item_id FROM automation_item_outcomes) ids")) {
      rs.next();
      bothTenantsItems = rs.getString(1);
    }
    assertThat(bothTenantsItems).isNotNull();
    try (var hostile = TestTenants.connect(TestTenants.databaseCredentials(client, "iso-hostil"))) {
      for (var attempt : List.of(1, 2, 100)) {
        hostile
            .createStatement()
            .execute(
                ("SELECT robusto_worker_record_steps(ids, array_fill(%d, ARRAY[n]),"
                        + " array_fill(0::bigint, ARRAY[n]), array_fill(1, ARRAY[n]),"
                        + " array_fill('succeeded'::text, ARRAY[n]), array_fill('forged'::text,"
                        + " ARRAY[n])) FROM (SELECT ids, cardinality(ids) n FROM (SELECT"
                        + " '%s'::bigint[] ids) a) b")
                    .formatted(attempt, bothTenantsItems));
      }
    }
    assertThat(
            longValue(
                operator,
                "SELECT count(*) FROM automation_ticket_steps WHERE detail = 'forged'"
                    + " AND (tenant_id <> ? OR attempt <> 1)",
                "iso-hostil"))
        .as("no forged step on the neighbour's tickets, nor beyond the attacker's first attempts")
        .isZero();

    // The neighbour's batch went on through all of it.
    for (var worker : workers) {
      assertThat(worker.waitFor(90, TimeUnit.SECONDS))
          .as("the neighbour's workers finish")
          .isTrue();
      assertThat(worker.exitValue()).isZero();
    }
    assertThat(
            longValue(
                operator,
                "SELECT count(DISTINCT idempotency_key) FROM automation_item_outcomes"
                    + " WHERE batch_id = ? AND state = 'succeeded'",
                neighbours))
        .as("every one of the neighbour's tickets succeeded")
        .isEqualTo(NEIGHBOUR_TICKETS);
    assertThat(
            longValue(
                operator,
                "SELECT count(*) FROM automation_item_outcomes WHERE batch_id = ?",
                neighbours))
        .as("each exactly once")
        .isEqualTo(NEIGHBOUR_TICKETS);
  }

  /** A batch of the tenant's, queued and admitted as the operator does it. */
  private UUID batch(String tenant, String name, int tickets) throws SQLException {
    var id = UUID.randomUUID();
    try (var c = operator.getConnection();
        var insert =
            c.prepareStatement(
                "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, max_attempts)"
                    + " VALUES (?, ?, ?, ?, 5)")) {
      insert.setObject(1, id);
      insert.setString(2, tenant);
      insert.setString(3, "tenant-" + tenant);
      insert.setString(4, name);
      insert.executeUpdate();
    }
    new WorkQueue(operator)
        .enqueue(
            id,
            tenant,
            "normal",
            IntStream.range(0, tickets)
                .mapToObj(i -> new WorkQueue.NewItem(name + "-" + i, "{\"folio\": " + i + "}"))
                .toList());
    new DailyLedger(operator).admit(id, tenant, LocalDate.now(ZoneOffset.UTC), 1000);
    return id;
  }

  private WorkQueue.Claim claimAsNeighbour(UUID batch, String[] credentials) throws Exception {
    var queue = new WorkQueue(Postgres.get().dataSource("robusto", credentials[0], credentials[1]));
    return queue.claim(batch, "test", 1, Duration.ofMinutes(1)).get(0);
  }

  private void releaseAsNeighbour(WorkQueue.Claim claim, String[] credentials) throws Exception {
    var queue = new WorkQueue(Postgres.get().dataSource("robusto", credentials[0], credentials[1]));
    assertThat(queue.release(List.of(claim), Duration.ZERO)).containsExactly(claim.itemId());
  }

  private java.util.Map<String, String> workerEnv(UUID batch, String[] credentials)
      throws Exception {
    var config =
        new WorkerConfig(
            batch,
            "simulated",
            null,
            null,
            // 400 tickets of 50 ms on two workers: about 10 s, through all the attacks.
            new WorkerConfig.Simulated(SimulatedProcessor.Distribution.FIXED, 50, 0, 0, 1),
            10_000,
            20,
            200,
            2,
            0,
            10,
            30_000,
            null,
            null);
    var env = new HashMap<String, String>();
    env.put("ROBUSTO_WORKER_CONFIG", new ObjectMapper().writeValueAsString(config));
    env.put("ROBUSTO_DATABASE_URL", Postgres.get().jdbcUrl("robusto"));
    env.put("ROBUSTO_DATABASE_USERNAME", credentials[0]);
    env.put("ROBUSTO_DATABASE_PASSWORD", credentials[1]);
    env.put("ROBUSTO_PAYLOAD_KEY", TestTenants.payloadKey(client, "iso-vecino"));
    return env;
  }

  /** What the tenant's owner can read in its namespace: the robusto-database Secret. */
  private static long rows(Connection c, String sql, Object parameter) throws SQLException {
    try (var statement = c.prepareStatement(sql)) {
      statement.setObject(1, parameter);
      return count(statement);
    }
  }

  private static long count(java.sql.PreparedStatement statement) throws SQLException {
    var n = 0L;
    try (var rs = statement.executeQuery()) {
      while (rs.next()) {
        n++;
      }
    }
    return n;
  }

  private static long longValue(Connection c, String sql, Object parameter) throws SQLException {
    try (var statement = c.prepareStatement(sql)) {
      statement.setObject(1, parameter);
      try (var rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static long longValue(DataSource db, String sql, Object parameter) throws SQLException {
    try (var c = db.getConnection()) {
      return longValue(c, sql, parameter);
    }
  }
}
