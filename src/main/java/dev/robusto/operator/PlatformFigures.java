package dev.robusto.operator;

import java.sql.SQLException;
import java.time.LocalDate;
import java.util.List;
import javax.sql.DataSource;

/** What the platform's metrics read from PostgreSQL, each in one statement. */
public final class PlatformFigures {

  /** A tenant's counts for a UTC day: admissions (automation_metrics) and outcomes (_usage). */
  public record TenantDay(
      String tenantId,
      LocalDate day,
      long succeeded,
      long failed,
      long deadLettered,
      long retried,
      long admitted,
      long processingMs) {}

  /** Finished tickets in one latency bucket (upper bound in ms) for a UTC day. */
  public record LatencyBucket(String tenantId, LocalDate day, int leMs, long tickets) {}

  /** Workers' attempts in one latency bucket (upper bound in ms) for a UTC day. */
  public record AttemptBucket(
      String tenantId, LocalDate day, int leMs, long attempts, long failed, long durationMs) {}

  /** How many of a tenant's live workers have their circuit to an endpoint open. */
  public record OpenCircuits(String tenantId, String endpoint, long workers) {}

  /** Live tickets of one priority in one state, and how long the oldest due one has waited. */
  public record QueueDepth(String priority, String state, long tickets, double oldestDueSeconds) {}

  /** A live tenant's limits and what its batches hold now. */
  public record TenantLoad(String tenantId, int workers, int maxWorkers, int maxDaily) {}

  private final Sql sql;

  public PlatformFigures(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /** The days from {@code since}: the only rows outcomes still change. */
  public List<TenantDay> days(LocalDate since) throws SQLException {
    return sql.list(
        """
        SELECT tenant_id, day, coalesce(u.jobs_succeeded, 0), coalesce(u.jobs_failed, 0),
          coalesce(u.jobs_dead_lettered, 0), coalesce(u.jobs_retried, 0),
          coalesce(m.jobs_admitted, 0), coalesce(u.processing_ms, 0)
        FROM (SELECT * FROM automation_metrics WHERE day >= ?) m
        FULL JOIN (SELECT * FROM automation_usage WHERE day >= ?) u USING (tenant_id, day)
        """,
        rs ->
            new TenantDay(
                rs.getString(1),
                rs.getObject(2, LocalDate.class),
                rs.getLong(3),
                rs.getLong(4),
                rs.getLong(5),
                rs.getLong(6),
                rs.getLong(7),
                rs.getLong(8)),
        since,
        since);
  }

  public List<LatencyBucket> latency(LocalDate since) throws SQLException {
    return sql.list(
        """
        SELECT tenant_id, day, le_ms, tickets FROM automation_latency WHERE day >= ?
        """,
        rs ->
            new LatencyBucket(
                rs.getString(1), rs.getObject(2, LocalDate.class), rs.getInt(3), rs.getLong(4)),
        since);
  }

  public List<AttemptBucket> attempts(LocalDate since) throws SQLException {
    return sql.list(
        """
        SELECT tenant_id, day, le_ms, attempts, failed, duration_ms
        FROM automation_attempt_latency WHERE day >= ?
        """,
        rs ->
            new AttemptBucket(
                rs.getString(1),
                rs.getObject(2, LocalDate.class),
                rs.getInt(3),
                rs.getLong(4),
                rs.getLong(5),
                rs.getLong(6)),
        since);
  }

  /**
   * Circuits open by tenant and endpoint, as workers reported them in the last two minutes (a live
   * worker reports every 30 s; an older report is a worker's that was killed).
   */
  public List<OpenCircuits> openCircuits() throws SQLException {
    return sql.list(
        """
        SELECT tenant_id, endpoint, count(*) FROM automation_circuits
        WHERE open AND reported_at > now() - interval '2 minutes'
        GROUP BY tenant_id, endpoint ORDER BY tenant_id, endpoint
        """,
        rs -> new OpenCircuits(rs.getString(1), rs.getString(2), rs.getLong(3)));
  }

  public List<QueueDepth> queue() throws SQLException {
    return sql.list(
        """
        SELECT priority, state, count(*),
          coalesce(extract(epoch FROM now() - min(next_attempt_at)
            FILTER (WHERE state = 'pending' AND next_attempt_at <= now())), 0)
        FROM automation_items GROUP BY priority, state
        """,
        rs -> new QueueDepth(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getDouble(4)));
  }

  public List<TenantLoad> tenants() throws SQLException {
    return sql.list(
        """
        SELECT t.tenant_id, coalesce(sum(b.workers), 0), t.max_concurrent_jobs, t.max_daily_jobs
        FROM tenant_config t LEFT JOIN automation_batches b ON b.tenant_id = t.tenant_id
        WHERE t.retained_at IS NULL
        GROUP BY t.tenant_id, t.max_concurrent_jobs, t.max_daily_jobs ORDER BY t.tenant_id
        """,
        rs -> new TenantLoad(rs.getString(1), rs.getInt(2), rs.getInt(3), rs.getInt(4)));
  }

  /** Batches by phase, as their rows hold it. */
  public List<java.util.Map.Entry<String, Long>> batchPhases() throws SQLException {
    return sql.list(
        """
        SELECT phase, count(*) FROM automation_batches GROUP BY phase
        """,
        rs -> java.util.Map.entry(rs.getString(1), rs.getLong(2)));
  }
}
