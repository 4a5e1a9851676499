package dev.robusto.bench;

import dev.robusto.audit.AuditAnchor;
import dev.robusto.audit.AuditCanonical;
import dev.robusto.audit.AuditEntry;
import dev.robusto.audit.AuditKeys;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.AuditVerifier;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestAuditKeys;
import io.agroal.api.AgroalDataSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;

/**
 * Audit trail throughput on a real PostgreSQL 17 (run by hack/bench/audit): appends per second with
 * concurrent writers (each append waits until it is committed), and rows verified per second when
 * walking the whole chain. Targets on 2 cores: 2,000 appends/s and 200,000 verified rows/s.
 */
public final class AuditBenchmark {

  public static void main(String[] args) throws Exception {
    var appends = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    var chainRows = args.length > 1 ? Integer.parseInt(args[1]) : 500_000;
    var outcomes = args.length > 2 ? Integer.parseInt(args[2]) : 200_000;
    var postgres = Postgres.get();
    System.out.printf(
        "Audit benchmark: PostgreSQL %s on 127.0.0.1, %d cores%n",
        postgres.version(), Runtime.getRuntime().availableProcessors());

    // Sealed as the operator appends; once unsealed too, for what sealing costs.
    record AppendRun(int writers, AuditKeys keys) {}
    for (var appendRun :
        List.of(
            new AppendRun(1, TestAuditKeys.KEYS),
            new AppendRun(16, TestAuditKeys.KEYS),
            new AppendRun(64, TestAuditKeys.KEYS),
            new AppendRun(16, AuditKeys.NONE))) {
      var writers = appendRun.writers();
      var keys = appendRun.keys();
      // One writer waits for one fsync per append: a tenth of the appends tells the same.
      var count = writers == 1 ? appends / 10 : appends;
      postgres.migratedDatabase("audit_bench");
      var pool = Executors.newFixedThreadPool(writers);
      try (var db = operatorPool(postgres, "audit_bench");
          var log = new AuditLog(db, keys)) {
        var started = System.nanoTime();
        var futures = new ArrayList<Future<?>>();
        for (int i = 0; i < count; i++) {
          var n = i;
          futures.add(pool.submit(() -> log.append(entry(n))));
        }
        for (var f : futures) {
          f.get();
        }
        var seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf(
            "  appends, %2d concurrent writers: %,8.0f appends/s (%,d in %.2f s)%s%n",
            writers, count / seconds, count, seconds, keys.sealing() ? "" : ", unsealed");
      } finally {
        pool.shutdown();
      }
    }

    var db = postgres.migratedDatabase("audit_bench");
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      // The trigger chains each row, exactly as for appends from the operator.
      s.execute(
          "INSERT INTO audit_log (actor, action, resource, tenant_id, before_hash, after_hash)"
              + " SELECT 'robusto-operator/tenant', 'update', 'ResourceQuota/tenant-' || (g % 500)"
              + " || '/tenant-quota', 'tenant-' || (g % 500), md5(g::text), md5((g + 1)::text)"
              + " FROM generate_series(1, "
              + chainRows
              + ") g");
    }
    // Sealed as the operator seals what it appends, here all at once.
    try (var c = db.getConnection()) {
      c.setAutoCommit(false);
      var started = System.nanoTime();
      var rows = new ArrayList<AuditAnchor>(chainRows);
      try (var rs =
          c.createStatement().executeQuery("SELECT seq, hash FROM audit_log ORDER BY seq")) {
        while (rs.next()) {
          rows.add(new AuditAnchor(rs.getLong(1), rs.getString(2)));
        }
      }
      AuditLog.seal(c, TestAuditKeys.KEYS.macs(), rows);
      c.commit();
      var seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf(
          "  seal, one pass: %,10.0f rows/s (%,d rows in %.2f s)%n",
          rows.size() / seconds, rows.size(), seconds);
    }
    // What was just loaded is written back first, so the walks measure reading, not that I/O.
    try (var c = postgres.superuser("audit_bench");
        var s = c.createStatement()) {
      s.execute("VACUUM ANALYZE audit_log, audit_seals");
      s.execute("CHECKPOINT");
    }
    for (int run = 0; run <= 3; run++) {
      // Run 0 checks hashes only, for what checking the seals costs.
      var keys = run == 0 ? AuditKeys.NONE : TestAuditKeys.KEYS;
      try (var c = db.getConnection()) {
        var result = AuditVerifier.verify(c, keys, null);
        if (!result.intact()) {
          throw new IllegalStateException("chain broken: " + result.problem());
        }
        System.out.printf(
            "  verify, run %d: %,10.0f rows/s (%,d rows in %d ms, %s, intact)%n",
            run,
            result.rowsPerSecond(),
            result.rows(),
            result.millis(),
            keys.sealing() ? "hashes and seals" : "hashes only");
      }
    }
    custody(postgres, outcomes);
  }

  /**
   * The chain of custody: finished tickets chained per second in the leader's rounds (10,000 a
   * round), and verified per second. Target: 10,000 tickets/s.
   */
  private static void custody(Postgres postgres, int outcomes) throws Exception {
    postgres.migratedDatabase("custody_bench");
    try (var db = operatorPool(postgres, "custody_bench")) {
      custody(postgres, db, outcomes);
    }
  }

  private static void custody(Postgres postgres, DataSource db, int outcomes) throws Exception {
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      for (var tenant : List.of("acme", "beta")) {
        s.execute(
            ("INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
                    + " max_daily_jobs, requests_per_minute) VALUES ('%s', 'enterprise',"
                    + " 'tenant-%1$s', 20, 1000, 600)")
                .formatted(tenant));
        s.execute(
            ("INSERT INTO automation_batches (batch_id, tenant_id, namespace, name)"
                    + " VALUES (gen_random_uuid(), '%s', 'tenant-%1$s', 'fin-de-mes')")
                .formatted(tenant));
      }
      // A ticket's payload as the seeds have them, a few hundred bytes.
      s.execute(
          "INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
              + " payload, state, attempts, created_at, finished_at)"
              + " SELECT g, b.batch_id, b.tenant_id, 'T-' || g, jsonb_build_object('rfc',"
              + " 'XAXX010101000', 'total', g, 'merchant', 'oxxo', 'ticket', md5(g::text),"
              + " 'items', jsonb_build_array(md5((g + 1)::text), md5((g + 2)::text))),"
              + " CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 1, now(), now()"
              + " FROM generate_series(1, "
              + outcomes
              + ") g JOIN automation_batches b ON b.tenant_id = CASE WHEN g % 2 = 0 THEN 'acme'"
              + " ELSE 'beta' END");
    }
    try (var c = postgres.superuser("custody_bench");
        var s = c.createStatement()) {
      s.execute("VACUUM ANALYZE automation_item_outcomes");
      s.execute("CHECKPOINT");
    }
    try (var log = new AuditLog(db, TestAuditKeys.KEYS)) {
      // Sealed as the operator seals them: the re-encryption of payloads from before encryption
      // was on, then the chain opens each one to hash what the tenant gave.
      var key = new byte[32];
      new java.security.SecureRandom().nextBytes(key);
      var payloads =
          new dev.robusto.tenant.PayloadKeys(
              db,
              null,
              new dev.robusto.operator.Leadership(false, "robusto"),
              log,
              java.util.Optional.of("bench:" + java.util.Base64.getEncoder().encodeToString(key)),
              java.util.Optional.empty(),
              java.time.Duration.ofMinutes(10),
              java.time.Duration.ofMinutes(10));
      var sealing = System.nanoTime();
      var sealed = 0L;
      for (var tenant : List.of("acme", "beta")) {
        sealed += payloads.rotate(tenant);
      }
      var sealingSeconds = (System.nanoTime() - sealing) / 1e9;
      System.out.printf(
          "  payloads, re-encrypt: %,10.0f payloads/s (%,d in %.2f s)%n",
          sealed / sealingSeconds, sealed, sealingSeconds);
      var custody =
          new dev.robusto.audit.OutcomeCustody(
              db, payloads, log, null, java.time.Duration.ofDays(30));
      var started = System.nanoTime();
      var chained = 0L;
      for (int round; (round = custody.chain()) > 0; ) {
        chained += round;
      }
      var seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf(
          "  custody, chain: %,10.0f tickets/s (%,d in %.2f s, rounds of 10,000)%n",
          chained / seconds, chained, seconds);
      var verification = custody.verify();
      if (!verification.intact()) {
        throw new IllegalStateException("custody broken: " + verification.problem());
      }
      System.out.printf(
          "  custody, verify: %,9.0f tickets/s (%,d in %d ms, intact)%n",
          verification.outcomes() * 1000.0 / Math.max(1, verification.millis()),
          verification.outcomes(),
          verification.millis());
    }
  }

  /**
   * The database as the operator's login, through a pool as the operator's (Agroal) is: a commit
   * then costs its statements and one WAL flush, not a new connection and a SCRAM login.
   */
  private static AgroalDataSource operatorPool(Postgres postgres, String database) {
    return (AgroalDataSource)
        postgres.pooled(database, Postgres.OPERATOR_ROLE, Postgres.OPERATOR_PASSWORD, 4);
  }

  private static AuditEntry entry(int i) {
    return new AuditEntry(
        "robusto-operator/tenant",
        "update",
        "ResourceQuota/tenant-" + (i % 500) + "/tenant-quota",
        "tenant-" + (i % 500),
        AuditCanonical.stateHash("before-" + i),
        AuditCanonical.stateHash("after-" + i));
  }
}
