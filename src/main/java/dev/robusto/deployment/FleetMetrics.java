package dev.robusto.deployment;

import dev.robusto.operator.Sql;
import java.sql.SQLException;
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

  private final Sql sql;

  public FleetMetrics(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  public Window since(String tenantId, String deployment, int revision, Instant since)
      throws SQLException {
    return sql.one(
            """
            SELECT count(*), count(*) FILTER (WHERE failed),
              percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
            FROM automation_attempts WHERE tenant_id = ? AND deployment = ?
              AND revision = ? AND finished_at >= ?
            """,
            rs -> {
              var p95 = rs.getDouble(3);
              var noAttempts = rs.wasNull(); // right after the column it is about
              return new Window(rs.getLong(1), rs.getLong(2), noAttempts ? null : p95);
            },
            tenantId,
            deployment,
            revision,
            since)
        .orElseThrow();
  }
}
