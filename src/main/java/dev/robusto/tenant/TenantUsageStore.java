package dev.robusto.tenant;

import dev.robusto.operator.Sql;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.List;
import javax.sql.DataSource;

/**
 * A tenant's usage per UTC day: admissions and their cost from automation_metrics (the operator's
 * daily ledger writes them), outcomes from automation_usage (every ticket's outcome, in the
 * transaction that records it: V9's trigger).
 */
public final class TenantUsageStore {

  /** One day's figures; cost in MXN, exact. */
  public record Day(
      LocalDate day,
      int admitted,
      int succeeded,
      int failed,
      int deadLettered,
      int retried,
      long processingMs,
      BigDecimal costMxn) {}

  /** A month's totals. */
  public record Month(
      YearMonth month,
      long admitted,
      long succeeded,
      long failed,
      long deadLettered,
      long processingMs,
      BigDecimal costMxn) {}

  /** What a tenant uses right now: today's admissions and the workers its batches hold. */
  public record Now(int admittedToday, int workers) {}

  private final Sql sql;

  public TenantUsageStore(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /**
   * Days from {@code from} to {@code to}, both included, oldest first; days without rows left out.
   */
  public List<Day> days(String tenantId, LocalDate from, LocalDate to) throws SQLException {
    return sql.list(
        """
        SELECT day, coalesce(m.jobs_admitted, 0), coalesce(u.jobs_succeeded, 0),
          coalesce(u.jobs_failed, 0), coalesce(u.jobs_dead_lettered, 0),
          coalesce(u.jobs_retried, 0), coalesce(u.processing_ms, 0), coalesce(m.cost_mxn, 0)
        FROM (SELECT * FROM automation_metrics WHERE tenant_id = ? AND day BETWEEN ? AND ?) m
        FULL JOIN (SELECT * FROM automation_usage WHERE tenant_id = ? AND day BETWEEN ? AND ?) u
          USING (tenant_id, day)
        ORDER BY day
        """,
        rs ->
            new Day(
                rs.getObject(1, LocalDate.class),
                rs.getInt(2),
                rs.getInt(3),
                rs.getInt(4),
                rs.getInt(5),
                rs.getInt(6),
                rs.getLong(7),
                rs.getBigDecimal(8)),
        tenantId,
        from,
        to,
        tenantId,
        from,
        to);
  }

  public Month month(String tenantId, YearMonth month) throws SQLException {
    var days = days(tenantId, month.atDay(1), month.atEndOfMonth());
    return new Month(
        month,
        days.stream().mapToLong(Day::admitted).sum(),
        days.stream().mapToLong(Day::succeeded).sum(),
        days.stream().mapToLong(Day::failed).sum(),
        days.stream().mapToLong(Day::deadLettered).sum(),
        days.stream().mapToLong(Day::processingMs).sum(),
        days.stream().map(Day::costMxn).reduce(BigDecimal.ZERO, BigDecimal::add));
  }

  public Now now(String tenantId, LocalDate today) throws SQLException {
    return sql.one(
            """
            SELECT (SELECT coalesce(max(jobs_admitted), 0) FROM automation_metrics
                     WHERE tenant_id = ? AND day = ?),
                   (SELECT coalesce(sum(workers), 0) FROM automation_batches WHERE tenant_id = ?)
            """,
            rs -> new Now(rs.getInt(1), rs.getInt(2)),
            tenantId,
            today,
            tenantId)
        .orElseThrow();
  }

  /** Tenants with usage in the month, by name. */
  public List<String> tenantsWithUsage(YearMonth month) throws SQLException {
    return sql.list(
        """
        SELECT tenant_id FROM automation_metrics WHERE day BETWEEN ? AND ?
        UNION SELECT tenant_id FROM automation_usage WHERE day BETWEEN ? AND ?
        ORDER BY tenant_id
        """,
        rs -> rs.getString(1),
        month.atDay(1),
        month.atEndOfMonth(),
        month.atDay(1),
        month.atEndOfMonth());
  }

  /**
   * One line of a CFDI month: a merchant's tickets that ended in {@code state}, and the sum of
   * their {@code total} (tickets whose data has no numeric total under a trillion are counted
   * apart).
   */
  public record CfdiLine(
      String merchant, String state, long tickets, BigDecimal total, long withoutTotal) {}

  /**
   * The tickets of the tenant that ended from {@code from} (included) to {@code to} (excluded), by
   * merchant (null: a batch that called a URL) and outcome; a redriven ticket counts once, by how
   * it ended last.
   */
  public List<CfdiLine> cfdi(String tenantId, java.time.Instant from, java.time.Instant to)
      throws SQLException {
    return sql.list(
        """
        SELECT b.merchant, o.state, count(*),
               coalesce(sum(t.total), 0), count(*) FILTER (WHERE t.total IS NULL)
          FROM automation_item_outcomes o
          -- A total is a number under a trillion: anything else is counted apart, not summed.
          CROSS JOIN LATERAL (
            SELECT CASE WHEN jsonb_typeof(o.payload->'total') = 'number'
                         AND length(o.payload->>'total') <= 40
                        THEN CASE WHEN abs((o.payload->>'total')::numeric) < 1e12
                                  THEN (o.payload->>'total')::numeric END
                   END AS total) t
          LEFT JOIN automation_batches b ON b.batch_id = o.batch_id
         WHERE o.tenant_id = ? AND o.finished_at >= ? AND o.finished_at < ?
           AND o.state <> 'redriven'
         GROUP BY 1, 2
         ORDER BY 1 NULLS LAST, 2
        """,
        rs ->
            new CfdiLine(
                rs.getString(1),
                rs.getString(2),
                rs.getLong(3),
                rs.getBigDecimal(4),
                rs.getLong(5)),
        tenantId,
        java.sql.Timestamp.from(from),
        java.sql.Timestamp.from(to));
  }
}
