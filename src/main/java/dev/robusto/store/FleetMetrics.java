package dev.robusto.store;

import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import javax.sql.DataSource;

/** A fleet revision's attempts over a window, as its workers recorded them (V5). */
public final class FleetMetrics {

  /** Attempts, failed ones, and the 95th percentile of their durations (null with none). */
  public record Window(long attempts, long failed, Double p95Millis) {

    public double errorRate() {
      return attempts == 0 ? 0 : (double) failed / attempts;
    }
  }

  private final DataSource dataSource;

  public FleetMetrics(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  public Window since(String tenantId, String deployment, int revision, Instant since)
      throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT count(*), count(*) FILTER (WHERE failed),"
                    + " percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)"
                    + " FROM automation_attempts WHERE tenant_id = ? AND deployment = ?"
                    + " AND revision = ? AND finished_at >= ?")) {
      query.setString(1, tenantId);
      query.setString(2, deployment);
      query.setInt(3, revision);
      query.setTimestamp(4, Timestamp.from(since));
      try (var rs = query.executeQuery()) {
        rs.next();
        var p95 = rs.getDouble(3);
        return new Window(rs.getLong(1), rs.getLong(2), rs.wasNull() ? null : p95);
      }
    }
  }
}
