package dev.robusto.store;

import java.sql.SQLException;
import java.time.LocalDate;
import javax.sql.DataSource;

/**
 * Admits a tenant's tickets against its daily limit (maxDailyJobs), in automation_metrics: one row
 * per tenant and UTC day, locked while a grant is computed, so concurrent batches of one tenant can
 * never admit more than the limit between them. Billing reads the same row.
 */
public final class DailyLedger {

  private final DataSource dataSource;

  public DailyLedger(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** Grants up to {@code wanted} admissions for {@code day}; returns how many were granted. */
  public int admit(String tenantId, LocalDate day, int wanted, int maxDaily) throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var ensure =
              c.prepareStatement(
                  "INSERT INTO automation_metrics (tenant_id, day) VALUES (?, ?)"
                      + " ON CONFLICT (tenant_id, day) DO NOTHING");
          var grant =
              c.prepareStatement(
                  "UPDATE automation_metrics m SET jobs_admitted = m.jobs_admitted + g.granted"
                      + " FROM (SELECT tenant_id, day,"
                      + " greatest(0, least(?, ? - jobs_admitted)) AS granted"
                      + " FROM automation_metrics WHERE tenant_id = ? AND day = ? FOR UPDATE) g"
                      + " WHERE m.tenant_id = g.tenant_id AND m.day = g.day RETURNING g.granted")) {
        ensure.setString(1, tenantId);
        ensure.setObject(2, day);
        ensure.executeUpdate();
        grant.setInt(1, wanted);
        grant.setInt(2, maxDaily);
        grant.setString(3, tenantId);
        grant.setObject(4, day);
        int granted;
        try (var rs = grant.executeQuery()) {
          rs.next();
          granted = rs.getInt(1);
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
