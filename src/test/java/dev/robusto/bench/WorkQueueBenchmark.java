package dev.robusto.bench;

import dev.robusto.batch.DailyLedger;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.ScramVerifier;
import dev.robusto.tenant.TenantDatabase;
import dev.robusto.testing.Postgres;
import dev.robusto.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Queue throughput on a real PostgreSQL 17 with durable settings (run by hack/bench/queue): items
 * claimed and completed per second by 1, 4 and 16 workers with the simulated processor at zero
 * latency, and the p99 latency of a claim. Each worker claims up to 100 items, "processes" them,
 * records their success in one statement, then their attempts (each ticket's step and the latency
 * histogram) in another, as a worker does. Workers log in as the tenant's own role and go through
 * the worker functions, as in a cluster. Target on 2 cores: 10,000 items/s.
 */
public final class WorkQueueBenchmark {

  private static int claimSize;

  public static void main(String[] args) throws Exception {
    var items = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    claimSize = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    System.out.printf(
        "Queue benchmark: PostgreSQL %s on 127.0.0.1, %d cores, %,d items per run,"
            + " claims of up to %d%n",
        Postgres.get().version(), Runtime.getRuntime().availableProcessors(), items, claimSize);
    for (var workers : new int[] {1, 4, 16}) {
      run(workers, items);
    }
    var rate = args.length > 2 ? Integer.parseInt(args[2]) : 5_000;
    if (rate > 0) {
      latency(rate, 4, Duration.ofSeconds(10));
    }
  }

  /**
   * The time from a ticket becoming claimable to its claim, in a steady state: tickets are queued
   * and admitted at {@code rate} a second for {@code duration} while {@code workers} claim them, an
   * idle worker asking again after {@link Worker#IDLE_POLL}, as a worker does.
   */
  private static void latency(int rate, int workers, Duration duration) throws Exception {
    var setup = setUp(workers);
    var waits = new ConcurrentLinkedQueue<Long>();
    var produced = new AtomicLong();
    var done = new java.util.concurrent.atomic.AtomicBoolean();
    var ticks = (int) (duration.toMillis() / 20);
    var perTick = Math.max(1, rate / 50);
    var producer =
        new Thread(
            () -> {
              try {
                var ledger = new DailyLedger(setup.db());
                var start = System.nanoTime();
                for (var tick = 0; tick < ticks; tick++) {
                  var sleep = start + tick * 20_000_000L - System.nanoTime();
                  if (sleep > 0) {
                    Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                  }
                  var first = produced.getAndAdd(perTick);
                  setup
                      .operator()
                      .enqueue(
                          setup.batch(),
                          "bench",
                          "normal",
                          IntStream.range(0, perTick)
                              .mapToObj(
                                  i ->
                                      new WorkQueue.NewItem(
                                          "l-" + (first + i), "{\"t\": " + System.nanoTime() + "}"))
                              .toList());
                  ledger.admit(
                      setup.batch(), "bench", java.time.LocalDate.now(), Integer.MAX_VALUE);
                }
              } catch (Exception e) {
                throw new IllegalStateException(e);
              } finally {
                done.set(true);
              }
            });
    producer.start();
    var threads = new ArrayList<Thread>();
    for (int w = 0; w < workers; w++) {
      var name = "l" + w;
      var thread =
          new Thread(
              () -> {
                try {
                  while (true) {
                    var claims =
                        setup.queue().claim(setup.batch(), name, claimSize, Duration.ofSeconds(60));
                    var now = System.nanoTime();
                    if (claims.isEmpty()) {
                      if (done.get() && setup.queue().liveItems(setup.batch()) == 0) {
                        return;
                      }
                      Thread.sleep(Worker.IDLE_POLL.toMillis());
                      continue;
                    }
                    for (var claim : claims) {
                      var json = claim.payloadJson();
                      var enqueued = Long.parseLong(json.replaceAll("[^0-9]", ""));
                      waits.add(now - enqueued);
                    }
                    setup.queue().succeedAll(claims);
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      thread.start();
      threads.add(thread);
    }
    producer.join();
    for (var t : threads) {
      t.join();
    }
    var sorted = waits.stream().mapToLong(Long::longValue).sorted().toArray();
    System.out.printf(
        "  claimable to claimed, %,d tickets/s for %d s, %d workers polling every %d ms when idle:"
            + " p50 %.1f ms, p99 %.1f ms (%,d tickets)%n",
        rate,
        duration.toSeconds(),
        workers,
        Worker.IDLE_POLL.toMillis(),
        sorted[sorted.length / 2] / 1e6,
        sorted[(int) Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] / 1e6,
        sorted.length);
  }

  /**
   * A fresh database with tenant bench and one batch; the operator's queue, and the tenant's (a
   * pool of {@code workers} connections as the tenant's role, as its workers log in).
   */
  private record Setup(javax.sql.DataSource db, WorkQueue operator, WorkQueue queue, UUID batch) {}

  private static Setup setUp(int workers) throws Exception {
    var db = Postgres.get().migratedDatabase("queue_bench");
    var batch = UUID.randomUUID();
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
              + " max_daily_jobs, requests_per_minute) VALUES ('bench', 'enterprise', 'tenant-bench', 20, 1000, 600)");
      s.execute(
          "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name)"
              + " VALUES ('"
              + batch
              + "', 'bench', 'tenant-bench', 'bench')");
    }
    var role = TenantDatabase.roleName("bench", "a");
    var password = ScramVerifier.newPassword();
    new TenantDatabase(db).login("bench", role, ScramVerifier.of(password), workers + 1);
    return new Setup(
        db,
        new WorkQueue(db),
        new WorkQueue(Postgres.get().pooled("queue_bench", role, password, workers)),
        batch);
  }

  private static void run(int workers, int items) throws Exception {
    var setup = setUp(workers);
    var db = setup.db();
    var operator = setup.operator();
    var batch = setup.batch();
    var queue = setup.queue();
    for (int from = 0; from < items; from += 10_000) {
      var end = Math.min(items, from + 10_000);
      operator.enqueue(
          batch,
          "bench",
          "normal",
          IntStream.range(from, end).mapToObj(i -> new WorkQueue.NewItem("t-" + i, "{}")).toList());
    }
    new DailyLedger(db).admit(batch, "bench", java.time.LocalDate.now(), items);
    var completed = new AtomicLong();
    var claimNanos = new ConcurrentLinkedQueue<Long>();
    var started = System.nanoTime();
    var threads = new ArrayList<Thread>();
    for (int w = 0; w < workers; w++) {
      var name = "w" + w;
      var thread =
          new Thread(
              () -> {
                try {
                  while (true) {
                    var t0 = System.nanoTime();
                    List<WorkQueue.Claim> claims =
                        queue.claim(batch, name, claimSize, Duration.ofSeconds(60));
                    claimNanos.add(System.nanoTime() - t0);
                    if (claims.isEmpty()) {
                      return;
                    }
                    var attempted = java.time.Instant.now();
                    completed.addAndGet(queue.succeedAll(claims).size());
                    // As a worker: its attempts recorded after its outcomes (steps, histogram).
                    queue.recordAttempts(
                        null,
                        null,
                        claims.stream()
                            .map(
                                c ->
                                    new WorkQueue.Attempt(
                                        c, attempted, 0, WorkQueue.Step.SUCCEEDED, null))
                            .toList());
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      thread.start();
      threads.add(thread);
    }
    for (var t : threads) {
      t.join();
    }
    var seconds = (System.nanoTime() - started) / 1e9;
    if (completed.get() != items) {
      throw new IllegalStateException("completed " + completed.get() + " of " + items);
    }
    var latencies = claimNanos.stream().mapToLong(Long::longValue).sorted().toArray();
    var p99 =
        latencies[(int) Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)];
    System.out.printf(
        "  %2d workers: %,8.0f items/s (%,d in %.2f s), claim p50 %.1f ms, p99 %.1f ms%n",
        workers, items / seconds, items, seconds, latencies[latencies.length / 2] / 1e6, p99 / 1e6);
    Arrays.fill(latencies, 0);
  }
}
