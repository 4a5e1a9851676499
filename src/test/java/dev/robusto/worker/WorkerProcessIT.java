package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.batch.DailyLedger;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.ScramVerifier;
import dev.robusto.tenant.TenantDatabase;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.RestartablePostgres;
import dev.robusto.testing.WorkerProcesses;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Worker processes: the real worker role, in separate JVMs, logged in as the tenant's own database
 * role. In the chaos test they work a batch through the http processor while the test SIGKILLs them
 * and starts replacements, as a Job would. The test server implements the Idempotency-Key contract
 * (a repeated key after a success is replayed, not executed again) and counts executions and
 * replays per key, so it sees what the merchant portal would: an item re-processed after its worker
 * died must arrive with the same key. Every item must end exactly once, succeeded or dead-lettered.
 *
 * <p>The kills that prove the claim are not left to chance: the portal holds one first execution
 * open, the test finds in the database the worker whose lease holds that ticket, and kills it
 * there, after the portal executed the ticket and before the worker could record it. Random kills
 * come on top.
 */
@Tag("db")
class WorkerProcessIT {

  private static final int ITEMS = 2_000;
  private static final int WORKERS = 6;
  private static final int TARGETED_KILLS = 10;
  private static final int RANDOM_KILLS = 5;
  private static final String TENANT = "chaos";

  private final Map<String, AtomicInteger> executions = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> replays = new ConcurrentHashMap<>();
  private final Set<String> refusedOnce = ConcurrentHashMap.newKeySet();
  private final AtomicReference<Hold> hold = new AtomicReference<>();
  private final Map<String, Process> workers = new ConcurrentHashMap<>();
  private HttpServer portal;

  /** A first execution the portal keeps open: {@code executed} gets its key, then it waits. */
  private record Hold(CompletableFuture<String> executed, CountDownLatch released) {
    Hold() {
      this(new CompletableFuture<>(), new CountDownLatch(1));
    }
  }

  /**
   * A worker killed while its lease held {@code held}, among them the executed {@code inFlight}.
   */
  private record Kill(String worker, String inFlight, Set<String> held) {}

  @AfterEach
  void stopEverything() {
    workers.values().forEach(Process::destroyForcibly);
    var open = hold.getAndSet(null);
    if (open != null) {
      open.released().countDown();
    }
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
            Postgres.get().jdbcUrl("worker_chaos_it"),
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
                null,
                null));

    var started = new AtomicInteger();
    for (var i = 0; i < WORKERS; i++) {
      startWorker(env, started);
    }
    var targeted = new ArrayList<Kill>();
    var randomKills = 0;
    var deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
    var random = ThreadLocalRandom.current();
    while (finished(db) < ITEMS) {
      assertThat(System.nanoTime()).as("all items finished within 150 s").isLessThan(deadline);
      if (executions.size() < 100) {
        Thread.sleep(100);
      } else if (targeted.size() < TARGETED_KILLS) {
        killMidRequest(db, env, started).ifPresent(targeted::add);
      } else if (randomKills < RANDOM_KILLS) {
        Thread.sleep(200 + random.nextInt(300));
        var names = new ArrayList<>(workers.keySet());
        var victim = workers.get(names.get(random.nextInt(names.size())));
        if (victim.isAlive()) {
          victim.destroyForcibly(); // SIGKILL: no shutdown hook, nothing released or recorded
          randomKills++;
          startWorker(env, started);
        }
      } else {
        Thread.sleep(200);
      }
    }
    for (var p : workers.values()) {
      if (p.isAlive()) {
        assertThat(p.waitFor(30, TimeUnit.SECONDS))
            .as("a worker exits once its batch is done")
            .isTrue();
        assertThat(p.exitValue()).isZero();
      }
    }

    assertThat(targeted)
        .as("workers were killed while their lease held a ticket the portal had executed")
        .hasSize(TARGETED_KILLS);
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
    for (var kill : targeted) {
      for (var key : kill.held()) {
        assertThat(outcomes(db, key))
            .as("ticket %s, held by killed %s, was recorded exactly once", key, kill.worker())
            .isEqualTo(1);
      }
      assertThat(replays.getOrDefault(kill.inFlight(), new AtomicInteger()).get())
          .as(
              "%s, in flight when %s was killed, was sent again with its key",
              kill.inFlight(), kill)
          .isPositive();
      assertThat(succeeded)
          .as("the portal's replay of %s was recorded as its success", kill.inFlight())
          .contains(kill.inFlight());
    }
  }

  /**
   * Holds the next first execution open at the portal, kills the worker whose lease holds that
   * ticket (SIGKILL: no shutdown hook, nothing released or recorded) and starts a replacement.
   * Empty when no execution came or the lease had moved on, so the caller tries again.
   */
  private Optional<Kill> killMidRequest(
      DataSource db, Map<String, String> env, AtomicInteger started) throws Exception {
    var open = new Hold();
    hold.set(open);
    try {
      String key;
      try {
        key = open.executed().get(5, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        return Optional.empty();
      }
      var owner = leaseOwner(db, key);
      var victim = owner == null ? null : workers.get(owner);
      if (victim == null) {
        return Optional.empty();
      }
      victim.destroyForcibly();
      assertThat(victim.waitFor(10, TimeUnit.SECONDS)).as("SIGKILLed %s exits", owner).isTrue();
      startWorker(env, started);
      var held = heldBy(db, owner);
      return held.contains(key) ? Optional.of(new Kill(owner, key, held)) : Optional.empty();
    } finally {
      hold.compareAndSet(open, null);
      open.released().countDown();
    }
  }

  private void startWorker(Map<String, String> env, AtomicInteger started) throws Exception {
    var name = "chaos-" + started.getAndIncrement();
    workers.put(name, WorkerProcesses.start(env, name));
  }

  @Test
  void sigtermFinishesTheTicketInHandAndGivesTheRestOfTheClaimBack() throws Exception {
    var db = Postgres.get().migratedDatabase("worker_sigterm_it");
    var batch = UUID.randomUUID();
    // A ticket takes 6 s, so SIGTERM lands while the first is in hand however slow this machine.
    var simulated =
        new WorkerConfig.Simulated(SimulatedProcessor.Distribution.FIXED, 6_000, 0, 0, 1);
    var env =
        queueAndConfigure(
            db,
            Postgres.get().jdbcUrl("worker_sigterm_it"),
            10,
            new WorkerConfig(
                batch,
                "simulated",
                null,
                null,
                simulated,
                30_000,
                20,
                200,
                2,
                0,
                10,
                30_000,
                null,
                null));
    var worker = WorkerProcesses.start(env, "sigterm-0");
    workers.put("sigterm-0", worker);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> count(db, "SELECT count(*) FROM automation_items WHERE state = 'running'") == 10);
    Thread.sleep(500); // the first ticket is in hand
    worker.destroy(); // SIGTERM, as the kubelet sends it
    assertThat(worker.waitFor(20, TimeUnit.SECONDS))
        .as("the worker stops within the termination grace (30 s)")
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

  @Test
  void aBatchOfEightWorkersOutlivesItsSessionsCutAndADatabaseRestart() throws Exception {
    var items = 2_000;
    var batch = UUID.randomUUID();
    try (var postgres = RestartablePostgres.start("worker-blip")) {
      var db = postgres.migrated();
      var simulated =
          new WorkerConfig.Simulated(SimulatedProcessor.Distribution.FIXED, 10, 0, 0, 1);
      var env =
          queueAndConfigure(
              db,
              postgres.jdbcUrl(),
              items,
              new WorkerConfig(
                  batch,
                  "simulated",
                  null,
                  null,
                  simulated,
                  30_000,
                  20,
                  200,
                  2,
                  0,
                  1,
                  5_000,
                  null,
                  null));
      var eight = new ArrayList<Process>();
      for (var i = 0; i < 8; i++) {
        var worker = WorkerProcesses.start(env, "blip-" + i);
        workers.put("blip-" + i, worker);
        eight.add(worker);
      }
      awaitFinished(db, items / 5);
      try (var c = postgres.superuser();
          var rs =
              c.createStatement()
                  .executeQuery(
                      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                          + " WHERE usename = '"
                          + TenantDatabase.roleName(TENANT, "a")
                          + "'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("every worker's sessions were cut").isGreaterThanOrEqualTo(8);
      }
      awaitFinished(db, items / 2);
      postgres.restart();
      awaitFinished(db, items);

      for (var worker : eight) {
        assertThat(worker.waitFor(60, TimeUnit.SECONDS)).as("the worker finished").isTrue();
        assertThat(worker.exitValue()).as("no worker gave up").isZero();
      }
      assertThat(
              count(db, "SELECT count(*) FROM automation_item_outcomes WHERE state = 'succeeded'"))
          .as("every ticket succeeded once")
          .isEqualTo(items);
      assertThat(count(db, "SELECT count(DISTINCT idempotency_key) FROM automation_item_outcomes"))
          .isEqualTo(items);
      assertThat(count(db, "SELECT count(*) FROM automation_items"))
          .as("nothing is left pending or running")
          .isZero();
    }
  }

  /** Waits until {@code items} tickets are finished, through the database's own blips. */
  private static void awaitFinished(DataSource db, int items) {
    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptions()
        .until(() -> finished(db) >= items);
  }

  /**
   * Queues {@code items} tickets of a new batch (config's batchId) for tenant chaos and returns the
   * environment of a worker logged in as the tenant's own role.
   */
  private static Map<String, String> queueAndConfigure(
      DataSource db, String jdbcUrl, int items, WorkerConfig config) throws Exception {
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
    env.put("ROBUSTO_DATABASE_URL", jdbcUrl);
    env.put("ROBUSTO_DATABASE_USERNAME", role);
    env.put("ROBUSTO_DATABASE_PASSWORD", password);
    return env;
  }

  /**
   * The merchant portal: refuses a key's first request with a transient 503 one time in ten,
   * executes each key once and replays it after. While the test holds one open, the next first
   * execution is executed and then kept waiting, as a slow portal would keep its worker.
   */
  private void startPortal() throws Exception {
    portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.setExecutor(Executors.newFixedThreadPool(8));
    portal.createContext(
        "/facturas",
        exchange -> {
          try (exchange) {
            var key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
            exchange.getRequestBody().readAllBytes();
            Thread.sleep(3); // a portal takes its time; workers die mid-request
            int status;
            if (key == null) {
              status = 400;
            } else if (executions.containsKey(key)) {
              replays.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
              status = 200;
            } else if (refusedOnce.add(key) && ThreadLocalRandom.current().nextInt(10) == 0) {
              status = 503;
            } else {
              var earlier = executions.putIfAbsent(key, new AtomicInteger(1));
              if (earlier != null) {
                earlier.incrementAndGet(); // executed twice: the test fails on it
              } else {
                var open = hold.getAndSet(null);
                if (open != null) {
                  open.executed().complete(key);
                  open.released().await(30, TimeUnit.SECONDS);
                }
              }
              status = 201;
            }
            exchange.sendResponseHeaders(status, -1);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (IOException e) {
            // the worker was killed while its request was held open
          }
        });
    portal.start();
  }

  private static String leaseOwner(DataSource db, String key) throws SQLException {
    var owners =
        strings(
            db,
            "SELECT lease_owner FROM automation_items WHERE idempotency_key = ? AND state = 'running'",
            key);
    return owners.isEmpty() ? null : owners.iterator().next();
  }

  private static Set<String> heldBy(DataSource db, String worker) throws SQLException {
    return strings(
        db,
        "SELECT idempotency_key FROM automation_items WHERE lease_owner = ? AND state = 'running'",
        worker);
  }

  private static long outcomes(DataSource db, String key) throws SQLException {
    try (var c = db.getConnection();
        var q =
            c.prepareStatement(
                "SELECT count(*) FROM automation_item_outcomes WHERE idempotency_key = ?")) {
      q.setString(1, key);
      try (var rs = q.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static long finished(DataSource db) throws SQLException {
    return count(db, "SELECT count(*) FROM automation_item_outcomes");
  }

  private static Set<String> keys(DataSource db, String state) throws SQLException {
    return strings(
        db, "SELECT idempotency_key FROM automation_item_outcomes WHERE state = ?", state);
  }

  private static Set<String> strings(DataSource db, String sql, String parameter)
      throws SQLException {
    var values = new HashSet<String>();
    try (var c = db.getConnection();
        var q = c.prepareStatement(sql)) {
      q.setString(1, parameter);
      try (var rs = q.executeQuery()) {
        while (rs.next()) {
          values.add(rs.getString(1));
        }
      }
    }
    return values;
  }

  private static long count(DataSource db, String sql) throws SQLException {
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
