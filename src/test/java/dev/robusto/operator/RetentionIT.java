package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.audit.AuditLog;
import dev.robusto.batch.DailyLedger;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.ScramVerifier;
import dev.robusto.tenant.TenantDatabase;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestAuditKeys;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Retention against a real PostgreSQL, while a tenant's worker processes a batch with its own role:
 * what aged out goes in bounded steps, what is live or recent stays, and the batch finishes with
 * every ticket processed once.
 */
@Tag("db")
class RetentionIT {

  private static final String DATABASE = "retention_it";
  private static final UUID RUNNING = UUID.fromString("00000000-0000-0000-0000-0000000000d1");
  private static final UUID WAITING = UUID.fromString("00000000-0000-0000-0000-0000000000d2");
  private static final UUID OLD = UUID.fromString("00000000-0000-0000-0000-0000000000d3");
  private static final UUID LATE = UUID.fromString("00000000-0000-0000-0000-0000000000d4");
  private static final int STEP = 100;
  private static final Retention.Windows WINDOWS =
      new Retention.Windows(Duration.ofDays(30), Duration.ofDays(400), STEP);

  private DataSource db;
  private WorkQueue operator;
  private WorkQueue worker;

  @BeforeEach
  void agedData() throws SQLException {
    db = Postgres.get().migratedDatabase(DATABASE);
    operator = new WorkQueue(db);
    execute(
        "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
            + " max_daily_jobs, requests_per_minute) VALUES ('acme', 'startup', 'tenant-acme', 3, 100000, 600)");
    var role = TenantDatabase.roleName("acme", "a");
    var password = ScramVerifier.newPassword();
    new TenantDatabase(db).login("acme", role, ScramVerifier.of(password), 10);
    worker = new WorkQueue(Postgres.get().pooled(DATABASE, role, password, 2));
    for (var batch : new UUID[] {RUNNING, WAITING, OLD, LATE}) {
      execute(
          "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name) VALUES ('"
              + batch
              + "', 'acme', 'tenant-acme', 'lote-"
              + batch.toString().substring(34)
              + "')");
    }
    // 2,500 outcomes and their keys finished 40 days ago, 120 fleet attempts as old, three daily
    // usage rows from more than 400 days ago, and one of each from yesterday.
    execute(
        """
        INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,
          payload, state, attempts, created_at, finished_at, processing_ms)
        SELECT 10000000 + g, '%s', 'acme', 'viejo-' || g, '{}', 'succeeded', 1,
          now() - interval '41 days', now() - interval '40 days', 10
        FROM generate_series(1, 2500) g
        """
            .formatted(OLD));
    execute(
        "INSERT INTO automation_item_keys (tenant_id, idempotency_key, batch_id, created_at)"
            + " SELECT 'acme', 'viejo-' || g, '"
            + OLD
            + "', now() - interval '41 days' FROM generate_series(1, 2500) g");
    execute(
        "INSERT INTO automation_attempts (tenant_id, deployment, revision, failed, duration_ms,"
            + " finished_at) SELECT 'acme', 'flota', 1, false, 5, now() - interval '31 days'"
            + " FROM generate_series(1, 120)");
    execute(
        "INSERT INTO automation_attempts (tenant_id, deployment, revision, failed, duration_ms)"
            + " VALUES ('acme', 'flota', 2, false, 5)");
    execute(
        "INSERT INTO automation_metrics (tenant_id, day, jobs_admitted) SELECT 'acme',"
            + " current_date - 400 - g, 7 FROM generate_series(1, 3) g");
    execute(
        "INSERT INTO automation_metrics (tenant_id, day, jobs_admitted, cost_mxn)"
            + " VALUES ('acme', current_date - 1, 9, 13.5)");
    execute(
        "INSERT INTO automation_usage (tenant_id, day, jobs_succeeded) VALUES"
            + " ('acme', current_date - 450, 3), ('acme', current_date - 460, 3),"
            + " ('acme', current_date - 1, 9)");
    execute(
        "INSERT INTO automation_latency (tenant_id, day, le_ms, tickets) VALUES"
            + " ('acme', current_date - 500, 100, 4), ('acme', current_date - 500, 250, 1)");
    execute(
        "INSERT INTO automation_attempt_latency (tenant_id, day, le_ms, attempts) VALUES"
            + " ('acme', current_date - 500, 100, 4), ('acme', current_date, 100, 4)");
    execute(
        "INSERT INTO automation_circuits (tenant_id, worker, endpoint, open, reported_at) VALUES"
            + " ('acme', 'muerto', 'portal:443', true, now() - interval '31 days'),"
            + " ('acme', 'vivo', 'portal:443', true, now())");
  }

  @Test
  void agedRowsGoInBoundedStepsWhileABatchRunsUntouched() throws Exception {
    enqueue(RUNNING, 400);
    new DailyLedger(db).admit(RUNNING, "acme", today(), 100_000);
    // A ticket waiting for its quota whose key is older than the window: the key stays with it.
    enqueue(WAITING, 1);
    execute(
        "UPDATE automation_item_keys SET created_at = now() - interval '90 days'"
            + " WHERE batch_id = '"
            + WAITING
            + "'");
    // A ticket submitted 40 days ago that waited for quota and finished today: its key must stay
    // as long as its outcome, or submitting it again would process and bill it twice.
    execute(
        "INSERT INTO automation_item_keys (tenant_id, idempotency_key, batch_id, created_at)"
            + " VALUES ('acme', 'tardio', '"
            + LATE
            + "', now() - interval '40 days')");
    execute(
        "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
            + " payload, state, attempts, created_at) VALUES (9000002, '"
            + LATE
            + "', 'acme', 'tardio', '{}', 'succeeded', 1, now() - interval '40 days')");
    // An outcome of that batch, finished long ago: the batch is not over, its counts keep it.
    execute(
        "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
            + " payload, state, attempts, created_at, finished_at) VALUES (9000001, '"
            + WAITING
            + "', 'acme', 'temprano', '{}', 'succeeded', 1, now() - interval '91 days',"
            + " now() - interval '90 days')");

    var processing =
        CompletableFuture.supplyAsync(
            () -> {
              var done = 0;
              try {
                while (worker.liveItems(RUNNING) > 0) {
                  var claims = worker.claim(RUNNING, "w", 5, Duration.ofSeconds(30));
                  done += worker.succeedAll(claims).size();
                }
              } catch (SQLException e) {
                throw new IllegalStateException(e);
              }
              return done;
            });
    var removed = new Retention(db, WINDOWS).sweep(Instant.now());
    assertThat(processing.get()).as("tickets of the running batch processed").isEqualTo(400);

    assertThat(removed.rowsByTable())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "automation_item_outcomes", 2500L,
                "automation_item_keys", 2500L,
                "automation_attempts", 120L,
                "automation_metrics", 3L,
                "automation_usage", 2L,
                "automation_latency", 2L,
                "automation_attempt_latency", 1L,
                "automation_circuits", 1L));
    assertThat(removed.calls())
        .as("at most %d rows of a table per call", STEP)
        .isGreaterThanOrEqualTo(2500 / STEP);
    assertThat(operator.counts(RUNNING).succeeded()).isEqualTo(400);
    assertThat(
            count("SELECT count(*) FROM automation_item_keys WHERE batch_id = '" + RUNNING + "'"))
        .as("the running batch's keys")
        .isEqualTo(400);
    assertThat(
            count("SELECT count(*) FROM automation_item_keys WHERE batch_id = '" + WAITING + "'"))
        .as("a key a queued ticket holds")
        .isEqualTo(1);
    assertThat(
            count(
                "SELECT count(*) FROM automation_item_outcomes WHERE batch_id = '" + WAITING + "'"))
        .as("an old outcome of a batch with tickets still queued")
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM automation_item_keys WHERE batch_id = '" + LATE + "'"))
        .as("the key of a ticket submitted long ago that finished today")
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM automation_attempts")).isEqualTo(1);
    assertThat(count("SELECT jobs_succeeded FROM automation_usage WHERE day = current_date"))
        .as("today's usage row: the running batch's 400 and the late ticket")
        .isEqualTo(401);
    assertThat(count("SELECT count(*) FROM automation_usage WHERE day = current_date - 1"))
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM automation_metrics WHERE day = current_date - 1"))
        .isEqualTo(1);
    assertThat(new Retention(db, WINDOWS).sweep(Instant.now()).total())
        .as("a second sweep finds nothing")
        .isZero();
  }

  @Test
  void theLeadersTimerRecordsWhatWentInTheAuditLogAndItsMetrics() throws Exception {
    var registry = new SimpleMeterRegistry();
    var timer =
        new RetentionTimer(
            db,
            new RetentionTimer.Settings() {
              public String interval() {
                return "off";
              }

              public String firstDelay() {
                return "0s";
              }

              public Duration finishedAfter() {
                return WINDOWS.finishedAfter();
              }

              public Duration metricsAfter() {
                return WINDOWS.metricsAfter();
              }

              public int batchSize() {
                return STEP;
              }
            },
            new Leadership(false, "robusto-system"),
            new AuditLog(db, TestAuditKeys.KEYS),
            registry,
            Clock.systemUTC());
    timer.run();

    assertThat(
            registry
                .counter("robusto.retention.deleted.rows", "table", "automation_item_outcomes")
                .count())
        .isEqualTo(2500);
    assertThat(
            registry
                .counter("robusto.retention.deleted.rows", "table", "automation_metrics")
                .count())
        .isEqualTo(3);
    assertThat(registry.get("robusto.retention.last.success.timestamp.seconds").gauge().value())
        .isCloseTo(Instant.now().getEpochSecond(), org.assertj.core.data.Offset.offset(60.0));
    assertThat(
            count(
                "SELECT count(*) FROM audit_log WHERE actor = 'robusto-retention' AND action = 'delete'"
                    + " AND resource LIKE 'retention/automation_item_outcomes/older-than=%/rows=2500'"))
        .isEqualTo(1);
    assertThat(
            count(
                "SELECT count(*) FROM audit_log WHERE actor = 'robusto-retention'"
                    + " AND resource = 'retention/automation_usage/older-than="
                    + LocalDate.now(ZoneOffset.UTC).minusDays(400)
                    + "/rows=2'"))
        .as("a daily table's rows, older than the metrics window's day")
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM audit_log WHERE actor = 'robusto-retention'"))
        .as("one entry per table that lost rows")
        .isEqualTo(8);
  }

  private static LocalDate today() {
    return LocalDate.now(ZoneOffset.UTC);
  }

  private void enqueue(UUID batch, int tickets) throws SQLException {
    operator.enqueue(
        batch,
        "acme",
        "normal",
        IntStream.range(0, tickets)
            .mapToObj(i -> new WorkQueue.NewItem(batch + "-" + i, "{}"))
            .toList());
  }

  private void execute(String sql) throws SQLException {
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private long count(String sql) throws SQLException {
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
