package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.queue.WorkQueue;
import dev.robusto.testing.Postgres;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The daily limit holds across concurrent batches, and each day starts afresh. */
@Tag("db")
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
    var batches = new ArrayList<UUID>();
    for (int b = 0; b < 15; b++) {
      batches.add(batchWithHeldItems("acme", "lote-" + b, 9));
    }
    var pool = Executors.newFixedThreadPool(12);
    try {
      var requests = new ArrayList<Callable<Integer>>();
      for (var batch : batches) {
        requests.add(() -> ledger.admit(batch, "acme", DAY, 100));
      }
      var granted = 0;
      for (var f : pool.invokeAll(requests)) {
        granted += f.get();
      }
      assertThat(granted)
          .as("15 batches of 9 want 135; exactly the limit is granted")
          .isEqualTo(100);
      assertThat(ledger.admitted("acme", DAY)).isEqualTo(100);
      assertThat(count("SELECT count(*) FROM automation_items WHERE state = 'pending'"))
          .as("every grant released exactly its items")
          .isEqualTo(100);
      assertThat(ledger.admit(batches.get(0), "acme", DAY, 100))
          .as("the rest waits for tomorrow")
          .isZero();
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void eachTenantAndEachDayHasItsOwnCount() throws Exception {
    var acme = batchWithHeldItems("acme", "fin-de-mes", 80);
    var more = batchWithHeldItems("acme", "extra", 80);
    var otra = batchWithHeldItems("otra", "fin-de-mes", 80);
    assertThat(ledger.admit(acme, "acme", DAY, 100)).isEqualTo(80);
    assertThat(ledger.admit(more, "acme", DAY, 100)).isEqualTo(20);
    assertThat(ledger.admit(otra, "otra", DAY, 100)).isEqualTo(80);
    assertThat(ledger.admit(more, "acme", DAY.plusDays(1), 100))
        .as("the next day admits the 60 still held")
        .isEqualTo(60);
  }

  private UUID batchWithHeldItems(String tenant, String name, int items) throws Exception {
    var batch = UUID.randomUUID();
    try (var c = db.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name) VALUES ('"
              + batch
              + "', '"
              + tenant
              + "', 'tenant-"
              + tenant
              + "', '"
              + name
              + "')");
    }
    new WorkQueue(db)
        .enqueue(
            batch,
            tenant,
            "normal",
            IntStream.range(0, items)
                .mapToObj(i -> new WorkQueue.NewItem(name + "-" + i, "{}"))
                .toList());
    return batch;
  }

  private long count(String sql) throws Exception {
    try (var c = db.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
