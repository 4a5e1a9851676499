package dev.robusto.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.robusto.batch.DailyLedger;
import dev.robusto.tenant.ScramVerifier;
import dev.robusto.tenant.TenantDatabase;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestThreads;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The ticket queue against a real PostgreSQL: idempotent, fenced, retried, never lost. The operator
 * enqueues and counts with its role; workers claim and record with the tenant's own role, through
 * the worker functions, as in a cluster.
 */
@Tag("db")
class WorkQueueIT {

  private static final UUID BATCH = UUID.fromString("00000000-0000-0000-0000-0000000000b1");
  private static final WorkQueue.Retry RETRY =
      new WorkQueue.Retry(Duration.ofMillis(10), Duration.ofMillis(100), 2);

  private DataSource db;
  private WorkQueue operator;
  private WorkQueue queue;

  @BeforeEach
  void freshQueue() throws SQLException {
    db = Postgres.get().migratedDatabase("queue_it");
    operator = new WorkQueue(db);
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
              + " max_daily_jobs, requests_per_minute) VALUES ('acme', 'startup', 'tenant-acme', 3, 100, 600)");
    }
    var role = TenantDatabase.roleName("acme", "a");
    var password = ScramVerifier.newPassword();
    new TenantDatabase(db).login("acme", role, ScramVerifier.of(password), 50);
    queue = new WorkQueue(Postgres.get().pooled("queue_it", role, password, 17));
    newBatch(BATCH, "fin-de-mes");
  }

  @Test
  void reEnqueuingTheSameTicketsAddsNothing() throws SQLException {
    assertThat(operator.enqueue(BATCH, "acme", "normal", items(0, 100))).isEqualTo(100);
    assertThat(operator.enqueue(BATCH, "acme", "normal", items(50, 150))).isEqualTo(50);
    assertThat(count("SELECT count(*) FROM automation_items")).isEqualTo(150);
    assertThat(operator.counts(BATCH).held()).as("nothing runs before admission").isEqualTo(150);
  }

  @Test
  void aTicketThatSucceededIsNeverQueuedAgainEvenAfterItsRowLeftTheQueue() throws Exception {
    enqueueAndAdmit("normal", items(0, 2));
    var claims = queue.claim(BATCH, "w", 2, Duration.ofSeconds(30));
    assertThat(queue.succeedAll(claims)).hasSize(2);
    assertThat(count("SELECT count(*) FROM automation_items"))
        .as("finished rows leave the hot queue")
        .isZero();

    assertThat(operator.enqueue(BATCH, "acme", "normal", items(0, 3))).isEqualTo(1);
    var other = UUID.randomUUID();
    newBatch(other, "otro-lote");
    assertThat(operator.enqueue(other, "acme", "normal", items(0, 2)))
        .as("the key is the tenant's, across batches")
        .isZero();
    assertThat(operator.counts(BATCH)).isEqualTo(new WorkQueue.Counts(1, 0, 0, 2, 0, 0));
  }

  @Test
  void deletingABatchForgetsTheKeysOfTicketsThatDidNotSucceed() throws Exception {
    enqueueAndAdmit("normal", items(0, 3));
    var claims = queue.claim(BATCH, "w", 3, Duration.ofSeconds(30));
    queue.succeed(claims.get(0));
    queue.fail(claims.get(1), "HTTP 422: RFC inválido", true, RETRY);
    execute("DELETE FROM automation_batches WHERE batch_id = '" + BATCH + "'");
    newBatch(BATCH, "fin-de-mes");
    assertThat(operator.enqueue(BATCH, "acme", "normal", items(0, 3)))
        .as("the failed and the unfinished ticket may come again; the invoiced one may not")
        .isEqualTo(2);
    assertThat(count("SELECT count(*) FROM automation_item_outcomes")).isZero();
  }

  @Test
  void theMostUrgentItemsAreClaimedFirst() throws SQLException {
    enqueueAndAdmit("baja", items(0, 3));
    enqueueAndAdmit("urgente", items(3, 5));
    var claimed = queue.claim(BATCH, "w1", 2, Duration.ofSeconds(30));
    assertThat(claimed)
        .extracting(WorkQueue.Claim::key)
        .containsExactlyInAnyOrder("ticket-3", "ticket-4");
  }

  @Test
  void aWorkerWhoseLeaseExpiredCannotRecordAnOutcome() throws Exception {
    enqueueAndAdmit("normal", items(0, 1));
    // The shortest lease the queue grants is 1 s.
    var slow = queue.claim(BATCH, "slow", 1, Duration.ofMillis(100)).get(0);
    Thread.sleep(1_300);
    assertThat(queue.rescueExpired(BATCH)).isEqualTo(1);
    var fast = queue.claim(BATCH, "fast", 1, Duration.ofSeconds(30)).get(0);
    assertThat(fast.token()).isNotEqualTo(slow.token());

    assertThat(queue.heartbeat(slow, Duration.ofSeconds(30)))
        .as("the slow worker learns it lost the item")
        .isFalse();
    assertThat(queue.succeed(slow)).isFalse();
    assertThat(queue.fail(slow, "late", false, RETRY)).isEqualTo(WorkQueue.FailureOutcome.FENCED);
    assertThat(queue.succeed(fast)).isTrue();
    assertThat(queue.succeed(fast))
        .as("a second report of the same claim changes nothing")
        .isFalse();
    assertThat(
            count(
                "SELECT count(*) FROM automation_item_outcomes WHERE state = 'succeeded' AND attempts = 2"))
        .isEqualTo(1);
  }

  @Test
  void failuresAreRetriedWithBackoffThenDeadLetteredWithTheLastError() throws Exception {
    enqueueAndAdmit("normal", items(0, 1));
    execute("UPDATE automation_batches SET max_attempts = 3");
    var retry = new WorkQueue.Retry(Duration.ofMillis(50), Duration.ofMillis(50), 1);
    var outcomes = new ArrayList<WorkQueue.FailureOutcome>();
    for (int attempt = 1; attempt <= 3; attempt++) {
      List<WorkQueue.Claim> claimed;
      var deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      do {
        claimed = queue.claim(BATCH, "w", 1, Duration.ofSeconds(30));
      } while (claimed.isEmpty() && System.nanoTime() < deadline);
      outcomes.add(
          queue.fail(
              claimed.get(0), "HTTP 503 from portal (attempt " + attempt + ")", false, retry));
    }
    assertThat(outcomes)
        .containsExactly(
            WorkQueue.FailureOutcome.RETRY_SCHEDULED,
            WorkQueue.FailureOutcome.RETRY_SCHEDULED,
            WorkQueue.FailureOutcome.DEAD_LETTERED);
    try (var c = db.getConnection();
        var rs =
            c.createStatement()
                .executeQuery("SELECT state, attempts, last_error FROM automation_item_outcomes")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("dead_lettered");
      assertThat(rs.getInt(2)).isEqualTo(3);
      assertThat(rs.getString(3)).isEqualTo("HTTP 503 from portal (attempt 3)");
    }
  }

  @Test
  void noWorkerClaimsASuspendedBatchsTicketsNeitherItsOwnNorAFleets() throws Exception {
    enqueueAndAdmit("normal", items(0, 3));
    execute("UPDATE automation_batches SET suspended = true");
    assertThat(queue.claim(BATCH, "w", 10, Duration.ofSeconds(30))).isEmpty();
    assertThat(queue.liveItems(BATCH)).as("its Job's workers see nothing left, and exit").isZero();
    execute("UPDATE automation_batches SET deployment = 'portal-workers', parallelism = 0");
    assertThat(queue.claimForDeployment("portal-workers", "f", 10, Duration.ofSeconds(30)))
        .isEmpty();
    execute("UPDATE automation_batches SET suspended = false");
    assertThat(queue.claimForDeployment("portal-workers", "f", 10, Duration.ofSeconds(30)))
        .hasSize(3);
  }

  @Test
  void onlyATicketNoWorkerHoldsCanBeCancelledAndItIsNeverClaimedAfter() throws Exception {
    enqueueAndAdmit("normal", items(0, 3));
    var held = queue.claim(BATCH, "w", 1, Duration.ofSeconds(30)).get(0);
    var waiting = held.key().equals("ticket-0") ? "ticket-1" : "ticket-0";
    var latencyBefore = count("SELECT coalesce(sum(tickets), 0) FROM automation_latency");

    assertThat(operator.cancel(BATCH, waiting)).isEqualTo(WorkQueue.Cancellation.CANCELLED);
    assertThat(operator.cancel(BATCH, waiting))
        .as("asked again")
        .isEqualTo(WorkQueue.Cancellation.CANCELLED);
    assertThat(operator.cancel(BATCH, held.key())).isEqualTo(WorkQueue.Cancellation.RUNNING);
    assertThat(operator.cancel(BATCH, "no-such-ticket")).isEqualTo(WorkQueue.Cancellation.UNKNOWN);

    var rest = queue.claim(BATCH, "w", 10, Duration.ofSeconds(30));
    assertThat(rest).extracting(WorkQueue.Claim::key).doesNotContain(waiting).hasSize(1);
    assertThat(queue.succeed(rest.get(0))).isTrue();
    assertThat(operator.cancel(BATCH, rest.get(0).key()))
        .isEqualTo(WorkQueue.Cancellation.FINISHED);
    var counts = operator.counts(BATCH);
    assertThat(counts.cancelled()).isEqualTo(1);
    assertThat(counts.total()).isEqualTo(3);
    assertThat(count("SELECT coalesce(sum(tickets), 0) FROM automation_latency"))
        .as("a cancelled ticket held no worker: no latency, only the succeeded one's")
        .isEqualTo(latencyBefore + 1);
  }

  @Test
  void aRedriveRequeuesTheDeadLettersOncePerGenerationWithFreshAttempts() throws Exception {
    var ledger = new DailyLedger(db);
    var today = java.time.LocalDate.now();
    operator.enqueue(BATCH, "acme", "normal", items(0, 2));
    ledger.admit(BATCH, "acme", today, 1_000_000);
    execute("UPDATE automation_batches SET max_attempts = 1, completed_at = now()");
    for (var claim : queue.claim(BATCH, "w", 2, Duration.ofSeconds(30))) {
      assertThat(queue.fail(claim, "HTTP 503", false, RETRY))
          .isEqualTo(WorkQueue.FailureOutcome.DEAD_LETTERED);
    }
    assertThat(operator.deadLetters(BATCH, null, 10))
        .extracting(WorkQueue.DeadLetter::key, WorkQueue.DeadLetter::lastError)
        .containsExactly(tuple("ticket-0", "HTTP 503"), tuple("ticket-1", "HTTP 503"));

    assertThat(operator.redrive(BATCH, 1)).hasValue(2);
    assertThat(operator.redrive(BATCH, 1)).as("the same generation again").isEmpty();
    assertThat(operator.deadLetters(BATCH, null, 10)).isEmpty();
    assertThat(count("SELECT count(*) FROM automation_item_outcomes WHERE state = 'redriven'"))
        .as("their history stays")
        .isEqualTo(2);
    assertThat(operator.counts(BATCH).total()).as("each ticket counted once").isEqualTo(2);
    assertThat(count("SELECT count(*) FROM automation_batches WHERE completed_at IS NULL"))
        .as("the batch is active again")
        .isEqualTo(1);
    // Held: they take today's quota again before a worker sees them, with no attempt used.
    assertThat(operator.counts(BATCH).held()).isEqualTo(2);
    assertThat(ledger.admit(BATCH, "acme", today, 2)).as("the day's quota is spent").isZero();
    assertThat(ledger.admit(BATCH, "acme", today, 3))
        .as("within the daily quota: 2 admitted today already, 3 allowed")
        .isOne();
    assertThat(operator.counts(BATCH).held()).as("the other waits for quota").isOne();
    var admitted = queue.claim(BATCH, "w", 2, Duration.ofSeconds(30));
    assertThat(admitted).as("a worker sees only the admitted one").hasSize(1);
    queue.release(admitted, Duration.ZERO);
    ledger.admit(BATCH, "acme", today, 1_000_000);
    var again = queue.claim(BATCH, "w", 2, Duration.ofSeconds(30));
    assertThat(again).extracting(WorkQueue.Claim::attempts).containsOnly(1);
    assertThat(again)
        .extracting(WorkQueue.Claim::key)
        .containsExactlyInAnyOrder("ticket-0", "ticket-1");
    assertThat(operator.redrive(BATCH, 2)).as("nothing dead-lettered now").hasValue(0);
  }

  @Test
  void aTicketReadsAsItStandsLiveFirstElseItsLatestOutcomeAndOnlyInItsTenantsNamespace()
      throws Exception {
    operator.enqueue(BATCH, "acme", "normal", items(0, 2));
    assertThat(operator.ticket("tenant-acme", "ticket-0", false).orElseThrow())
        .extracting(WorkQueue.Ticket::state, WorkQueue.Ticket::finishedAt)
        .containsExactly("held", null);

    execute("UPDATE automation_batches SET max_attempts = 1");
    new DailyLedger(db).admit(BATCH, "acme", java.time.LocalDate.now(), 1_000_000);
    for (var claim : queue.claim(BATCH, "w", 2, Duration.ofSeconds(30))) {
      if (claim.key().equals("ticket-0")) {
        queue.fail(claim, "HTTP 503", false, RETRY);
      } else {
        queue.succeed(claim);
      }
    }
    var deadLettered = operator.ticket("tenant-acme", "ticket-0", false).orElseThrow();
    assertThat(deadLettered)
        .extracting(
            WorkQueue.Ticket::state, WorkQueue.Ticket::attempts, WorkQueue.Ticket::lastError)
        .containsExactly("dead_lettered", 1, "HTTP 503");
    assertThat(deadLettered.finishedAt()).isNotNull();
    assertThat(operator.ticket("tenant-acme", "ticket-1", false).orElseThrow().state())
        .isEqualTo("succeeded");

    assertThat(operator.redrive(BATCH, 1)).hasValue(1);
    assertThat(operator.ticket("tenant-acme", "ticket-0", false).orElseThrow())
        .as("requeued: the live row, not the outcome it left as 'redriven'")
        .extracting(
            WorkQueue.Ticket::state, WorkQueue.Ticket::attempts, WorkQueue.Ticket::finishedAt)
        .containsExactly("held", 0, null);

    new DailyLedger(db).admit(BATCH, "acme", java.time.LocalDate.now(), 1_000_000);
    queue.succeed(queue.claim(BATCH, "w", 1, Duration.ofSeconds(30)).get(0));
    assertThat(operator.ticket("tenant-acme", "ticket-0", true).orElseThrow())
        .as("the latest of its two outcomes")
        .extracting(WorkQueue.Ticket::state, WorkQueue.Ticket::batch)
        .containsExactly("succeeded", "fin-de-mes");

    assertThat(operator.ticket("tenant-acme", "ticket-9", true)).isEmpty();

    // The namespace goes to another tenant once acme's rows are retained: acme's tickets stay its.
    execute("UPDATE tenant_config SET retained_at = now() WHERE tenant_id = 'acme'");
    execute(
        "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
            + " max_daily_jobs, requests_per_minute) VALUES ('nueva', 'startup', 'tenant-acme', 3, 100, 600)");
    assertThat(operator.ticket("tenant-acme", "ticket-0", true))
        .as("the same key in the namespace's new tenant")
        .isEmpty();
    assertThat(operator.ticket("tenant-acme", "ticket-1", false)).isEmpty();
  }

  @Test
  void eachAttemptIsKeptOnceAsAStepOfItsTicketAcrossRedrivesAndForgottenWithItsBatch()
      throws Exception {
    enqueueAndAdmit("normal", items(0, 1));
    execute("UPDATE automation_batches SET max_attempts = 1");
    var first = queue.claim(BATCH, "w", 1, Duration.ofSeconds(30)).get(0);
    var started = java.time.Instant.now();
    assertThat(queue.fail(first, "HTTP 503", false, RETRY))
        .isEqualTo(WorkQueue.FailureOutcome.DEAD_LETTERED);
    var failed = new WorkQueue.Attempt(first, started, 250, WorkQueue.Step.FAILED, "HTTP 503");
    queue.recordAttempts(null, null, List.of(failed, failed));
    // An attempt the database never handed out: a second one of a ticket allowed one.
    var unclaimed =
        new WorkQueue.Claim(first.itemId(), first.key(), "{}", first.token(), first.attempts() + 1);
    queue.recordAttempts(
        null,
        null,
        List.of(new WorkQueue.Attempt(unclaimed, started, 1, WorkQueue.Step.SUCCEEDED, null)));

    assertThat(operator.redrive(BATCH, 1)).hasValue(1);
    new DailyLedger(db).admit(BATCH, "acme", java.time.LocalDate.now(), 1_000_000);
    var second = queue.claim(BATCH, "w", 1, Duration.ofSeconds(30)).get(0);
    assertThat(queue.succeed(second)).isTrue();
    queue.recordAttempts(
        null,
        null,
        List.of(
            new WorkQueue.Attempt(
                second, java.time.Instant.now(), 40, WorkQueue.Step.SUCCEEDED, null)));

    var ticket = operator.ticket("tenant-acme", "ticket-0", true).orElseThrow();
    assertThat(ticket.steps())
        .as("the dead-lettered attempt, then the redriven one, each once")
        .extracting(
            WorkQueue.TicketStep::attempt,
            WorkQueue.TicketStep::outcome,
            WorkQueue.TicketStep::durationMs,
            WorkQueue.TicketStep::detail)
        .containsExactly(tuple(1, "failed", 250L, "HTTP 503"), tuple(1, "succeeded", 40L, null));
    assertThat(ticket.steps().get(0).startedAt())
        .isBetween(started.minusMillis(1), started.plusMillis(1));
    assertThat(operator.ticket("tenant-acme", "ticket-0", false).orElseThrow().steps())
        .as("not asked for")
        .isEmpty();

    execute("DELETE FROM automation_batches WHERE batch_id = '" + BATCH + "'");
    assertThat(count("SELECT count(*) FROM automation_ticket_steps"))
        .as("steps go with their batch")
        .isZero();
  }

  @Test
  void underRandomWorkerDeathsEveryTicketEndsExactlyOnce() throws Exception {
    var total = 3_000;
    enqueueAndAdmit("normal", items(0, total));
    var recordedSuccesses = new ConcurrentHashMap<String, AtomicInteger>();
    var abandoned = new AtomicInteger();
    var done = new AtomicBoolean();
    var lease = Duration.ofSeconds(1);
    try (var threads = new TestThreads()) {
      for (int w = 0; w < 16; w++) {
        var name = "worker-" + w;
        threads.start(
            () -> {
              var random = ThreadLocalRandom.current();
              while (!done.get()) {
                try {
                  var claims = queue.claim(BATCH, name, 10, lease);
                  if (claims.isEmpty()) {
                    Thread.sleep(20);
                    continue;
                  }
                  for (var claim : claims) {
                    var roll = random.nextInt(100);
                    if (roll < 3) {
                      // The worker dies mid-item (SIGKILL): nothing is released or recorded.
                      abandoned.incrementAndGet();
                      break;
                    } else if (roll < 13) {
                      queue.fail(claim, "simulated failure", false, RETRY);
                    } else if (queue.succeed(claim)) {
                      recordedSuccesses
                          .computeIfAbsent(claim.key(), k -> new AtomicInteger())
                          .incrementAndGet();
                    }
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }
            });
      }
      threads.start(
          () -> {
            while (!done.get()) {
              queue.rescueExpired(BATCH);
              Thread.sleep(100);
            }
          });
      var deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (count("SELECT count(*) FROM automation_item_outcomes") < total) {
        threads.check();
        assertThat(System.nanoTime()).as("all items finished within 90 s").isLessThan(deadline);
        Thread.sleep(200);
      }
      done.set(true);
      threads.join();
    }

    var succeeded =
        count("SELECT count(*) FROM automation_item_outcomes WHERE state = 'succeeded'");
    var deadLettered =
        count("SELECT count(*) FROM automation_item_outcomes WHERE state = 'dead_lettered'");
    assertThat(succeeded + deadLettered).isEqualTo(total);
    assertThat(abandoned.get()).as("workers really died").isPositive();
    assertThat(recordedSuccesses.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
    assertThat((long) recordedSuccesses.size())
        .as("every success recorded once, none lost")
        .isEqualTo(succeeded);
    assertThat(
            count(
                "SELECT count(*) FROM automation_item_outcomes WHERE state = 'dead_lettered' AND last_error IS NULL"))
        .isZero();
  }

  private void newBatch(UUID id, String name) throws SQLException {
    execute(
        "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name) VALUES ('"
            + id
            + "', 'acme', 'tenant-acme', '"
            + name
            + "')");
  }

  private void enqueueAndAdmit(String priority, List<WorkQueue.NewItem> items) throws SQLException {
    operator.enqueue(BATCH, "acme", priority, items);
    new DailyLedger(db).admit(BATCH, "acme", java.time.LocalDate.now(), 1_000_000);
  }

  private void execute(String sql) throws SQLException {
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static List<WorkQueue.NewItem> items(int from, int to) {
    return IntStream.range(from, to)
        .mapToObj(i -> new WorkQueue.NewItem("ticket-" + i, "{\"ticket\": " + i + "}"))
        .toList();
  }

  private long count(String sql) throws SQLException {
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
