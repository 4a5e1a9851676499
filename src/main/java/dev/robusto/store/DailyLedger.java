package dev.robusto.store;

import java.sql.SQLException;
import java.time.LocalDate;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Admits a tenant's tickets against its daily limit (maxDailyJobs), in automation_metrics: one row
 * per tenant and UTC day, locked while a grant is computed and the granted items released, so
 * concurrent batches of one tenant can never admit more than the limit between them, and a grant is
 * never recorded without its items (or the reverse). Billing reads the same row.
 */
public final class DailyLedger {

  private final DataSource dataSource;

  public DailyLedger(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Releases as many of the batch's held items as the day's remaining quota allows (most urgent and
   * oldest first) to the queue; returns how many were admitted.
   */
  public int admit(UUID batchId, String tenantId, LocalDate day, int maxDaily) throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var ensure =
              c.prepareStatement(
                  "INSERT INTO automation_metrics (tenant_id, day) VALUES (?, ?)"
                      + " ON CONFLICT (tenant_id, day) DO NOTHING");
          var lock =
              c.prepareStatement(
                  "SELECT jobs_admitted FROM automation_metrics"
                      + " WHERE tenant_id = ? AND day = ? FOR UPDATE");
          var release =
              c.prepareStatement(
                  "UPDATE automation_items SET state = 'pending', updated_at = now()"
                      + " WHERE item_id IN (SELECT item_id FROM automation_items"
                      + " WHERE batch_id = ? AND state = 'held' ORDER BY priority_rank, item_id"
                      + " LIMIT ?)");
          var record =
              c.prepareStatement(
                  "UPDATE automation_metrics SET jobs_admitted = jobs_admitted + ?"
                      + " WHERE tenant_id = ? AND day = ?")) {
        ensure.setString(1, tenantId);
        ensure.setObject(2, day);
        ensure.executeUpdate();
        lock.setString(1, tenantId);
        lock.setObject(2, day);
        int admitted;
        try (var rs = lock.executeQuery()) {
          rs.next();
          admitted = rs.getInt(1);
        }
        var granted = 0;
        if (admitted < maxDaily) {
          release.setObject(1, batchId);
          release.setInt(2, maxDaily - admitted);
          granted = release.executeUpdate();
          record.setInt(1, granted);
          record.setString(2, tenantId);
          record.setObject(3, day);
          record.executeUpdate();
        }
        c.commit();
        return granted;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** Admissions already granted for the day. */
  public int admitted(String tenantId, LocalDate day) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT jobs_admitted FROM automation_metrics WHERE tenant_id = ? AND day = ?")) {
      query.setString(1, tenantId);
      query.setObject(2, day);
      try (var rs = query.executeQuery()) {
        return rs.next() ? rs.getInt(1) : 0;
      }
    }
  }
}
