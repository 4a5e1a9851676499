package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.batch.DailyLedger;
import dev.robusto.queue.WorkQueue;
import dev.robusto.testing.Postgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Usage and billing against a real PostgreSQL: the operator's ledger bills tickets as it admits
 * them; workers record outcomes with the tenant's own role, through the worker functions, and the
 * daily usage row follows in the same transaction; the usage store, the report and SQL over the
 * tables all agree to the centavo.
 */
@Tag("db")
class TenantUsageIT {

  private static final String DATABASE = "usage_it";
  private static final UUID BATCH = UUID.fromString("00000000-0000-0000-0000-0000000000c1");
  private static final WorkQueue.Retry RETRY =
      new WorkQueue.Retry(Duration.ofMillis(1), Duration.ofMillis(1), 1);
  private static final Duration HELD = Duration.ofMillis(20);

  private DataSource db;
  private WorkQueue operator;
  private WorkQueue worker;
  private TenantUsageStore usage;
  private String password;
  private final LocalDate today = LocalDate.now(ZoneOffset.UTC);

  @BeforeEach
  void freshDatabase() throws SQLException {
    db = Postgres.get().migratedDatabase(DATABASE);
    operator = new WorkQueue(db);
    usage = new TenantUsageStore(db);
    execute(
        "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
            + " max_daily_jobs, requests_per_minute, price_per_ticket_mxn)"
            + " VALUES ('acme', 'enterprise', 'tenant-acme', 20, 1000, 6000, 1.25)");
    var role = TenantDatabase.roleName("acme", "a");
    password = ScramVerifier.newPassword();
    new TenantDatabase(db).login("acme", role, ScramVerifier.of(password), 10);
    worker = new WorkQueue(Postgres.get().pooled(DATABASE, role, password, 4));
    execute(
        "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, max_attempts)"
            + " VALUES ('"
            + BATCH
            + "', 'acme', 'tenant-acme', 'fin-de-mes', 2)");
  }

  @Test
  void theMonthEndBatchIsBilledExactlyForItsSucceededTickets() throws Exception {
    admit(500);
    int processed = 0;
    while (processed < 500) {
      var claims = worker.claim(BATCH, "w", 50, Duration.ofSeconds(30));
      assertThat(claims).as("claims while %d of 500 are processed", processed).isNotEmpty();
      Thread.sleep(HELD.toMillis());
      var succeeded = claims.stream().filter(c -> !refusedByThePortal(c)).toList();
      assertThat(worker.succeedAll(succeeded)).hasSize(succeeded.size());
      for (var claim : claims) {
        if (refusedByThePortal(claim)) {
          assertThat(worker.fail(claim, "HTTP 422: RFC inválido", true, RETRY))
              .isEqualTo(WorkQueue.FailureOutcome.FAILED);
        }
      }
      processed += claims.size();
    }

    var day = usage.days("acme", today, today);
    assertThat(day).hasSize(1);
    assertThat(day.get(0))
        .extracting(
            TenantUsageStore.Day::admitted,
            TenantUsageStore.Day::succeeded,
            TenantUsageStore.Day::failed,
            TenantUsageStore.Day::deadLettered)
        .containsExactly(500, 450, 50, 0);
    assertThat(day.get(0).costMxn())
        .as("500 admitted at 1.25: what the workers report does not lower the bill")
        .isEqualByComparingTo("625");
    assertThat(day.get(0).processingMs())
        .as("every ticket held its claim at least %s", HELD)
        .isGreaterThanOrEqualTo(500 * HELD.toMillis());
    assertThat(
            count(
                "SELECT sum(tickets) FROM automation_latency WHERE tenant_id = 'acme'"
                    + " AND le_ms >= 100"))
        .as("each ticket once in a latency bucket")
        .isEqualTo(500);
    var month = usage.month("acme", YearMonth.from(today));
    assertThat(month.succeeded()).isEqualTo(450);
    assertThat(month.failed()).isEqualTo(50);
    assertThat(month.costMxn()).isEqualByComparingTo("625");
    assertThat(
            decimal(
                "SELECT sum(cost_mxn) FROM automation_metrics WHERE tenant_id = 'acme'"
                    + " AND date_trunc('month', day) = date_trunc('month', now() AT TIME ZONE 'UTC')"))
        .isEqualByComparingTo(month.costMxn());
    assertThat(
            decimal(
                "SELECT count(*) FROM automation_item_outcomes WHERE state = 'succeeded'"
                    + " AND tenant_id = 'acme'"))
        .as("the outcomes the bill counts")
        .isEqualByComparingTo("450");

    var report = report(YearMonth.from(today).toString(), "acme");
    assertThat(report)
        .contains("Tenant acme (enterprise), now 1.2500 MXN per admitted ticket")
        .containsPattern("total +500 +450 +50 +0 +[0-9.]+ s +625\\.0000");
  }

  @Test
  void retriesCountOnceWithEveryAttemptsTimeAndDeadLettersAreNotBilled() throws Exception {
    admit(2);
    for (int attempt = 1; attempt <= 2; attempt++) {
      var claims = worker.claim(BATCH, "w", 2, Duration.ofSeconds(30));
      assertThat(claims).hasSize(2);
      Thread.sleep(HELD.toMillis());
      for (var claim : claims) {
        worker.fail(claim, "HTTP 503", false, RETRY);
      }
      Thread.sleep(5);
    }
    var day = usage.days("acme", today, today).get(0);
    assertThat(day.deadLettered()).isEqualTo(2);
    assertThat(day.retried()).as("each ticket's first attempt").isEqualTo(2);
    assertThat(day.failed()).isZero();
    assertThat(day.succeeded()).isZero();
    assertThat(day.costMxn()).as("billed when admitted").isEqualByComparingTo("2.5");
    assertThat(day.processingMs())
        .as("both attempts of both tickets")
        .isGreaterThanOrEqualTo(4 * HELD.toMillis());
  }

  @Test
  void aRescuedDeadLetterIsCountedOnceAndAPriceChangeBillsFromThen() throws Exception {
    admit(0, 3);
    var expiring = worker.claim(BATCH, "w", 1, Duration.ofSeconds(1));
    var first = worker.claim(BATCH, "w", 1, Duration.ofSeconds(30));
    worker.succeedAll(first);
    assertThat(worker.succeedAll(first)).as("a success recorded twice counts once").isEmpty();
    execute("UPDATE tenant_config SET price_per_ticket_mxn = 2.00 WHERE tenant_id = 'acme'");
    admit(3, 4);
    worker.succeedAll(worker.claim(BATCH, "w", 2, Duration.ofSeconds(30)));

    // The first ticket's lease runs out twice: its batch allows two attempts.
    Thread.sleep(1_100);
    assertThat(worker.rescueExpired(BATCH)).isEqualTo(1);
    worker.claim(BATCH, "w", 1, Duration.ofSeconds(1));
    Thread.sleep(1_100);
    assertThat(worker.rescueExpired(BATCH)).isEqualTo(1);
    assertThat(worker.rescueExpired(BATCH)).isZero();
    assertThat(worker.succeedAll(expiring)).as("the expired claim is fenced").isEmpty();

    var day = usage.days("acme", today, today).get(0);
    assertThat(List.of(day.succeeded(), day.failed(), day.deadLettered(), day.retried()))
        .as("succeeded, failed, dead-lettered, retried (its first lease's expiry)")
        .containsExactly(3, 0, 1, 1);
    assertThat(day.admitted()).isEqualTo(4);
    assertThat(day.costMxn()).as("3 admitted at 1.25, then 1 at 2.00").isEqualByComparingTo("5.75");
  }

  @Test
  void aTenantHoldingItsTransactionOpenDoesNotHoldUpTheOperatorsLedger() throws Exception {
    admit(0, 1);
    var claim = worker.claim(BATCH, "w", 1, Duration.ofSeconds(30)).get(0);
    try (var hostile =
        Postgres.get()
            .dataSource(DATABASE, TenantDatabase.roleName("acme", "a"), password)
            .getConnection()) {
      // A failed attempt recorded inside a transaction the tenant never ends: its usage row for
      // the day stays locked.
      hostile.setAutoCommit(false);
      try (var call =
          hostile.prepareStatement("SELECT robusto_worker_fail(?, ?, 'HTTP 503', false, 0)")) {
        call.setLong(1, claim.itemId());
        call.setObject(2, claim.token());
        call.executeQuery().close();
      }
      enqueueMore();
      var admitting =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                try {
                  return new DailyLedger(db).admit(BATCH, "acme", today, 1000);
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              });
      assertThat(admitting.get(10, java.util.concurrent.TimeUnit.SECONDS))
          .as("the ledger admits (and bills) without waiting on the tenant's open transaction")
          .isEqualTo(1);
      hostile.rollback();
    }
  }

  @Test
  void attemptsAndCircuitsAreCountedForTheCallersTenantAndForgottenWithIt() throws Exception {
    // A batch Job's worker: bucketed only. A fleet's: bucketed, and one by one for its canary.
    worker.recordAttempts(
        null,
        null,
        List.of(
            attempt(false, 40), attempt(true, 700), attempt(false, 3_000), attempt(false, 70_000)));
    worker.recordAttempts("flota", 3, List.of(attempt(true, 90)));
    var figures = new dev.robusto.operator.PlatformFigures(db);
    assertThat(figures.attempts(today))
        .extracting(b -> b.leMs() + ":" + b.attempts() + "/" + b.failed() + "/" + b.durationMs())
        .containsExactlyInAnyOrder(
            "100:2/1/130", "1000:1/1/700", "5000:1/0/3000", Integer.MAX_VALUE + ":1/0/70000");
    assertThat(figures.attempts(today)).allMatch(b -> b.tenantId().equals("acme"));
    assertThat(count("SELECT count(*) FROM automation_attempts WHERE tenant_id = 'acme'"))
        .as("only the fleet's attempt is kept one by one")
        .isEqualTo(1);

    // Each worker's report replaces its last; a worker that ends withdraws its own.
    worker.reportCircuits("w1", Map.of("sat.example:443", true, "oxxo.example:443", false));
    worker.reportCircuits("w1", Map.of("sat.example:443", true));
    worker.reportCircuits("w2", Map.of("sat.example:443", true));
    assertThat(figures.openCircuits())
        .containsExactly(
            new dev.robusto.operator.PlatformFigures.OpenCircuits("acme", "sat.example:443", 2));
    worker.reportCircuits("w2", Map.of());
    assertThat(figures.openCircuits()).extracting(c -> c.workers()).containsExactly(1L);
    // A worker killed before it could withdraw: its report fades after two minutes.
    execute("UPDATE automation_circuits SET reported_at = now() - interval '3 minutes'");
    assertThat(figures.openCircuits()).isEmpty();

    execute("DELETE FROM tenant_config WHERE tenant_id = 'acme'");
    assertThat(count("SELECT count(*) FROM automation_attempt_latency")).isZero();
    assertThat(count("SELECT count(*) FROM automation_circuits")).isZero();
  }

  @Test
  void theUsageReportNamesWhatItCannotDo() {
    var err = new ByteArrayOutputStream();
    assertThat(
            UsageReport.run(
                new String[] {"diciembre"},
                Map.of(),
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err)))
        .isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("diciembre is not a month");
  }

  /** The portal refuses one ticket in ten (its RFC is wrong). */
  private static boolean refusedByThePortal(WorkQueue.Claim claim) {
    return Integer.parseInt(claim.key().substring("ticket-".length())) % 10 == 0;
  }

  private void admit(int tickets) throws SQLException {
    admit(0, tickets);
  }

  private void enqueueMore() throws SQLException {
    operator.enqueue(BATCH, "acme", "normal", List.of(new WorkQueue.NewItem("ticket-otro", "{}")));
  }

  /** Queues tickets {@code from} to {@code to} (excluded) and admits them. */
  private void admit(int from, int to) throws SQLException {
    var tickets = to - from;
    operator.enqueue(
        BATCH,
        "acme",
        "normal",
        IntStream.range(from, to)
            .mapToObj(i -> new WorkQueue.NewItem("ticket-" + i, "{\"total\": " + i + "}"))
            .toList());
    assertThat(new DailyLedger(db).admit(BATCH, "acme", today, 1000)).isEqualTo(tickets);
  }

  private String report(String... args) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var pg = Postgres.get();
    var code =
        UsageReport.run(
            args,
            Map.of(
                "QUARKUS_DATASOURCE_JDBC_URL", pg.jdbcUrl(DATABASE),
                "QUARKUS_DATASOURCE_USERNAME", Postgres.OPERATOR_ROLE,
                "QUARKUS_DATASOURCE_PASSWORD", Postgres.OPERATOR_PASSWORD),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    return out.toString(StandardCharsets.UTF_8);
  }

  private void execute(String sql) throws SQLException {
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private long count(String sql) throws SQLException {
    return decimal(sql).longValueExact();
  }

  private BigDecimal decimal(String sql) throws SQLException {
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getBigDecimal(1);
    }
  }

  /** An attempt at a ticket the queue never handed out: counted in figures, kept as no step. */
  private static WorkQueue.Attempt attempt(boolean failed, long millis) {
    return new WorkQueue.Attempt(
        new WorkQueue.Claim(0, "ticket-0", "{}", java.util.UUID.randomUUID(), 1),
        java.time.Instant.now(),
        millis,
        failed ? WorkQueue.Step.FAILED : WorkQueue.Step.SUCCEEDED,
        null);
  }
}
