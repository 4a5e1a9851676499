package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.store.DailyLedger;
import dev.robusto.store.ScramVerifier;
import dev.robusto.store.TenantDatabase;
import dev.robusto.store.WorkQueue;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.WorkerProcesses;
import java.net.InetSocketAddress;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Worker processes: the real worker role, in separate JVMs, logged in as the tenant's own database
 * role. In the chaos test they work a batch through the http processor while the test SIGKILLs them
 * at random and starts replacements, as a Job would. The test server implements the Idempotency-Key
 * contract (a repeated key after a success is replayed, not executed again) and counts executions
 * per key, so it sees what the merchant portal would: an item re-processed after its worker died
 * must arrive with the same key. Every item must end exactly once, succeeded or dead-lettered.
 */
class WorkerProcessIT {

  private static final int ITEMS = 2_000;
  private static final int WORKERS = 6;
  private static final String TENANT = "chaos";

  private final Map<String, AtomicInteger> executions = new ConcurrentHashMap<>();
  private final AtomicInteger replays = new AtomicInteger();
  private final List<Process> processes = new ArrayList<>();
  private HttpServer portal;

  @AfterEach
  void stopEverything() {
    processes.forEach(Process::destroyForcibly);
    if (portal != null) {
      portal.stop(0);
    }
  }

  @Test
  void everyTicketEndsExactlyOnceAndNoKeyIsExecutedTwiceWhileWorkersAreKilled() throws Exception {
    var batch = UUID.randomUUID();
    var db = Postgres.get().migratedDatabase("worker_chaos_it");
    startPortal();
    var env =
        queueAndConfigure(
            db,
            "worker_chaos_it",
            ITEMS,
            new WorkerConfig(
                batch,
                "http",
                "http://127.0.0.1:" + portal.getAddress().getPort() + "/facturas",
                null,
                null,
                2_000,
                20,
                200,
                2,
                0,
                1,
                1_500,
                null));

    var started = 0;
    for (; started < WORKERS; started++) {
      processes.add(WorkerProcesses.start(env, "chaos-" + started));
    }
    var kills = 0;
    var deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
    var random = ThreadLocalRandom.current();
    while (finished(db) < ITEMS) {
      assertThat(System.nanoTime()).as("all items finished within 150 s").isLessThan(deadline);
      Thread.sleep(200 + random.nextInt(300));
      if (kills < 15 && executions.size() > 100) {
        var victim = processes.get(random.nextInt(processes.size()));
        if (victim.isAlive()) {
          victim.destroyForcibly(); // SIGKILL: no shutdown hook, nothing released or recorded
          kills++;
          processes.add(WorkerProcesses.start(env, "chaos-" + started++));
        }
      }
    }
    for (var p : processes) {
      if (p.isAlive()) {
        assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS))
            .as("a worker exits once its batch is done")
            .isTrue();
        assertThat(p.exitValue()).isZero();
      }
    }

    assertThat(kills).as("workers really died mid-batch").isGreaterThanOrEqualTo(10);
    assertThat(count(db, "SELECT count(*) FROM automation_items")).isZero();
    assertThat(count(db, "SELECT count(DISTINCT idempotency_key) FROM automation_item_outcomes"))
        .as("every ticket has exactly one outcome")
        .isEqualTo(ITEMS);
    var succeeded = keys(db, "succeeded");
    var deadLettered = keys(db, "dead_lettered");
    assertThat(succeeded.size() + deadLettered.size()).isEqualTo(ITEMS);
    assertThat(executions.values())
        .as("the portal executed no key twice")
        .allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
    assertThat(executions.keySet())
        .as("every success recorded was executed by the portal")
        .containsAll(succeeded);
    var executedButNotSucceeded = new HashSet<>(executions.keySet());
    executedButNotSucceeded.removeAll(succeeded);
    assertThat(deadLettered)
        .as("an executed ticket not recorded as a success is dead-lettered, never lost")
        .containsAll(executedButNotSucceeded);
    assertThat(replays.get())
        .as("killed workers' items were really sent again, with their key")
        .isPositive();
  }

  @Test
  void sigtermFinishesTheTicketInHandAndGivesTheRestOfTheClaimBack() throws Exception {
    var db = Postgres.get().migratedDatabase("worker_sigterm_it");
    var batch = UUID.randomUUID();
    var simulated =
        new WorkerConfig.Simulated(SimulatedProcessor.Distribution.FIXED, 1_500, 0, 0, 1);
    var env =
        queueAndConfigure(
            db,
            "worker_sigterm_it",
            10,
            new WorkerConfig(
                batch, "simulated", null, null, simulated, 5_000, 20, 200, 2, 0, 10, 30_000, null));
    var worker = WorkerProcesses.start(env, "sigterm-0");
    processes.add(worker);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> count(db, "SELECT count(*) FROM automation_items WHERE state = 'running'") == 10);
    Thread.sleep(500); // the first ticket is in hand
    worker.destroy(); // SIGTERM, as the kubelet sends it
    assertThat(worker.waitFor(10, java.util.concurrent.TimeUnit.SECONDS))
        .as("the worker stops within the termination grace")
        .isTrue();
    assertThat(count(db, "SELECT count(*) FROM automation_item_outcomes WHERE state = 'succeeded'"))
        .as("the ticket in hand was finished and recorded")
        .isEqualTo(1);
    assertThat(count(db, "SELECT count(*) FROM automation_items WHERE state = 'running'"))
        .as("nothing is left under a dead worker's lease")
        .isZero();
    assertThat(
            count(
                db,
                "SELECT count(*) FROM automation_items WHERE state = 'pending' AND attempts = 0"))
        .as("the rest went back unattempted, at once")
        .isEqualTo(9);
  }

  /**
   * Queues {@code items} tickets of a new batch (config's batchId) for tenant chaos and returns the
   * environment of a worker logged in as the tenant's own role.
   */
  private static Map<String, String> queueAndConfigure(
      DataSource db, String database, int items, WorkerConfig config) throws Exception {
    var password = ScramVerifier.newPassword();
    var role = TenantDatabase.roleName(TENANT, "a");
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
              + " max_daily_jobs, requests_per_minute) VALUES ('chaos', 'custom', 'tenant-chaos', 20,"
              + " 10000, 600000)");
      s.execute(
          "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, max_attempts)"
              + " VALUES ('"
              + config.batchId()
              + "', 'chaos', 'tenant-chaos', 'fin-de-mes', 5)");
    }
    new TenantDatabase(db).login(TENANT, role, ScramVerifier.of(password), 50);
    new WorkQueue(db)
        .enqueue(
            config.batchId(),
            TENANT,
            "normal",
            IntStream.range(0, items)
                .mapToObj(i -> new WorkQueue.NewItem("ticket-" + i, "{\"folio\": " + i + "}"))
                .toList());
    assertThat(new DailyLedger(db).admit(config.batchId(), TENANT, LocalDate.now(), items))
        .isEqualTo(items);
    var env = new HashMap<String, String>();
    env.put("ROBUSTO_WORKER_CONFIG", new ObjectMapper().writeValueAsString(config));
    env.put("ROBUSTO_DATABASE_URL", Postgres.get().jdbcUrl(database));
    env.put("ROBUSTO_DATABASE_USERNAME", role);
    env.put("ROBUSTO_DATABASE_PASSWORD", password);
    return env;
  }

  /** The merchant portal: 10% transient 503s, otherwise executes the key once and replays after. */
  private void startPortal() throws Exception {
    portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(8));
    portal.createContext(
        "/facturas",
        exchange -> {
          var key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
          exchange.getRequestBody().readAllBytes();
          try {
            Thread.sleep(3); // a portal takes its time; workers die mid-request
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          int status;
          if (key == null) {
            status = 400;
          } else if (executions.containsKey(key)) {
            replays.incrementAndGet();
            status = 200;
          } else if (ThreadLocalRandom.current().nextInt(10) == 0) {
            status = 503;
          } else {
            executions.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            status = 201;
          }
          exchange.sendResponseHeaders(status, -1);
          exchange.close();
        });
    portal.start();
  }

  private static long finished(DataSource db) throws SQLException {
    return count(db, "SELECT count(*) FROM automation_item_outcomes");
  }

  private static Set<String> keys(DataSource db, String state) throws SQLException {
    var keys = new HashSet<String>();
    try (var c = db.getConnection();
        var q =
            c.prepareStatement(
                "SELECT idempotency_key FROM automation_item_outcomes WHERE state = ?")) {
      q.setString(1, state);
      try (var rs = q.executeQuery()) {
        while (rs.next()) {
          keys.add(rs.getString(1));
        }
      }
    }
    return keys;
  }

  private static long count(DataSource db, String sql) throws SQLException {
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
