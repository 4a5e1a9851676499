package dev.robusto.batch;

import dev.robusto.operator.Sql;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Admits a tenant's tickets against its daily limit (maxDailyJobs), in automation_metrics: one row
 * per tenant and UTC day, locked while a grant is computed and the granted items released, so
 * concurrent batches of one tenant can never admit more than the limit between them, and a grant is
 * never recorded without its items (or the reverse). The same statement bills the admitted tickets
 * at the tenant's price: what the operator admits is what a tenant pays for, whatever its workers
 * later report.
 */
public final class DailyLedger {

  private final Sql sql;

  public DailyLedger(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /**
   * Releases as many of the batch's held items as the day's remaining quota allows (most urgent and
   * oldest first) to the queue; returns how many were admitted.
   */
  public int admit(UUID batchId, String tenantId, LocalDate day, int maxDaily) throws SQLException {
    return sql.inTransaction(
        c -> {
          Sql.update(
              c,
              """
              INSERT INTO automation_metrics (tenant_id, day) VALUES (?, ?)
              ON CONFLICT (tenant_id, day) DO NOTHING
              """,
              tenantId,
              day);
          int admitted =
              Sql.one(
                      c,
                      """
                      SELECT jobs_admitted FROM automation_metrics
                      WHERE tenant_id = ? AND day = ? FOR UPDATE
                      """,
                      rs -> rs.getInt(1),
                      tenantId,
                      day)
                  .orElseThrow(() -> new SQLException("no automation_metrics row to lock"));
          if (admitted >= maxDaily) {
            return 0;
          }
          var granted =
              Sql.update(
                  c,
                  """
                  UPDATE automation_items SET state = 'pending', updated_at = now()
                  WHERE item_id IN (SELECT item_id FROM automation_items
                    WHERE batch_id = ? AND state = 'held' ORDER BY priority_rank, item_id
                    LIMIT ?)
                  """,
                  batchId,
                  maxDaily - admitted);
          Sql.update(
              c,
              """
              UPDATE automation_metrics SET jobs_admitted = jobs_admitted + ?,
                cost_mxn = cost_mxn + ? * (SELECT price_per_ticket_mxn FROM tenant_config
                                           WHERE tenant_id = ?)
              WHERE tenant_id = ? AND day = ?
              """,
              granted,
              granted,
              tenantId,
              tenantId,
              day);
          return granted;
        });
  }

  /** Admissions already granted for the day. */
  public int admitted(String tenantId, LocalDate day) throws SQLException {
    return sql.one(
            """
            SELECT jobs_admitted FROM automation_metrics WHERE tenant_id = ? AND day = ?
            """,
            rs -> rs.getInt(1),
            tenantId,
            day)
        .orElse(0);
  }
}
