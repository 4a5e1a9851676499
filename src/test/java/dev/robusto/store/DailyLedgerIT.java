package dev.robusto.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.Postgres;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The daily limit holds across concurrent batches, and each day starts afresh. */
class DailyLedgerIT {

  private static final LocalDate DAY = LocalDate.of(2026, 11, 30);
  private DataSource db;
  private DailyLedger ledger;

  @BeforeEach
  void fresh() throws Exception {
    db = Postgres.get().migratedDatabase("ledger_it");
    ledger = new DailyLedger(db);
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
              + " max_daily_jobs, requests_per_minute) VALUES ('acme', 'startup', 'tenant-acme', 3, 100, 600),"
              + " ('otra', 'startup', 'tenant-otra', 3, 100, 600)");
    }
  }

  @Test
  void concurrentBatchesNeverAdmitMoreThanTheDailyLimitBetweenThem() throws Exception {
    var pool = Executors.newFixedThreadPool(12);
    try {
      var requests = new ArrayList<Callable<Integer>>();
      for (int i = 0; i < 60; i++) {
        var wanted = 1 + (i * 7) % 9;
        requests.add(() -> ledger.admit("acme", DAY, wanted, 100));
      }
      var granted = 0;
      for (var f : pool.invokeAll(requests)) {
        var g = f.get();
        assertThat(g).isBetween(0, 9);
        granted += g;
      }
      assertThat(granted)
          .as("60 requests want more than 100; exactly the limit is granted")
          .isEqualTo(100);
      assertThat(ledger.admitted("acme", DAY)).isEqualTo(100);
      assertThat(ledger.admit("acme", DAY, 5, 100)).as("the rest waits for tomorrow").isZero();
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void eachTenantAndEachDayHasItsOwnCount() throws Exception {
    assertThat(ledger.admit("acme", DAY, 80, 100)).isEqualTo(80);
    assertThat(ledger.admit("acme", DAY, 80, 100)).isEqualTo(20);
    assertThat(ledger.admit("otra", DAY, 80, 100)).isEqualTo(80);
    assertThat(ledger.admit("acme", DAY.plusDays(1), 80, 100)).isEqualTo(80);
  }
}
