package dev.robusto.bench;

import dev.robusto.audit.AuditCanonical;
import dev.robusto.audit.AuditEntry;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.AuditVerifier;
import dev.robusto.testing.Postgres;
import java.util.ArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Audit trail throughput on a real PostgreSQL 17 (run by hack/bench/audit): appends per second with
 * concurrent writers (each append waits until it is committed), and rows verified per second when
 * walking the whole chain. Targets on 2 cores: 2,000 appends/s and 200,000 verified rows/s.
 */
public final class AuditBenchmark {

  public static void main(String[] args) throws Exception {
    var appends = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    var chainRows = args.length > 1 ? Integer.parseInt(args[1]) : 500_000;
    var postgres = Postgres.get();
    System.out.printf(
        "Audit benchmark: PostgreSQL %s on 127.0.0.1, %d cores%n",
        postgres.version(), Runtime.getRuntime().availableProcessors());

    for (var writers : new int[] {1, 16, 64}) {
      // One writer waits for one fsync per append: a tenth of the appends tells the same.
      var count = writers == 1 ? appends / 10 : appends;
      var db = postgres.migratedDatabase("audit_bench");
      var pool = Executors.newFixedThreadPool(writers);
      try (var log = new AuditLog(db)) {
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
            "  appends, %2d concurrent writers: %,8.0f appends/s (%,d in %.2f s)%n",
            writers, count / seconds, count, seconds);
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
    for (int run = 1; run <= 3; run++) {
      try (var c = db.getConnection()) {
        var result = AuditVerifier.verify(c, null);
        if (!result.intact()) {
          throw new IllegalStateException("chain broken: " + result.problem());
        }
        System.out.printf(
            "  verify, run %d: %,10.0f rows/s (%,d rows in %d ms, intact)%n",
            run, result.rowsPerSecond(), result.rows(), result.millis());
      }
    }
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
