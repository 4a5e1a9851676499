package dev.robusto.bench;

import dev.robusto.store.DailyLedger;
import dev.robusto.store.ScramVerifier;
import dev.robusto.store.TenantDatabase;
import dev.robusto.store.WorkQueue;
import dev.robusto.testing.Postgres;
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
 * latency, and the p99 latency of a claim. Each worker claims up to 100 items, "processes" them and
 * records their success in one statement. Workers log in as the tenant's own role and go through
 * the worker functions, as in a cluster. Target on 2 cores: 10,000 items/s.
 */
public final class WorkQueueBenchmark {

  private static int claimSize;

  public static void main(String[] args) throws Exception {
    var items = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    claimSize = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    System.out.printf(
        "Queue benchmark: PostgreSQL 17.7 on 127.0.0.1, %d cores, %,d items per run,"
            + " claims of up to %d%n",
        Runtime.getRuntime().availableProcessors(), items, claimSize);
    for (var workers : new int[] {1, 4, 16}) {
      run(workers, items);
    }
  }

  private static void run(int workers, int items) throws Exception {
    var db = Postgres.get().migratedDatabase("queue_bench");
    var operator = new WorkQueue(db);
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
    var queue = new WorkQueue(Postgres.get().pooled("queue_bench", role, password, workers));
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
                    completed.addAndGet(queue.succeedAll(claims).size());
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
