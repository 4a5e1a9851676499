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

  private static final BigDecimal TRILLION = new BigDecimal("1e12");

  /** Reads numbers as written: money is never a float. */
  static final com.fasterxml.jackson.databind.ObjectMapper EXACT =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .nodeFactory(
              com.fasterxml.jackson.databind.node.JsonNodeFactory.withExactBigDecimals(true))
          .build();

  private final DataSource dataSource;
  private final Sql sql;

  public TenantUsageStore(DataSource dataSource) {
    this.dataSource = dataSource;
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
   * merchant (null: a batch that called a URL, last) and outcome; a redriven ticket counts once, by
   * how it ended last. Totals are summed here, not in SQL: the payloads are sealed at rest.
   */
  public List<CfdiLine> cfdi(
      String tenantId, java.time.Instant from, java.time.Instant to, PayloadKeys payloads)
      throws SQLException {
    record Group(String merchant, String state) {}
    var byGroup =
        new java.util.TreeMap<Group, CfdiLine>(
            java.util.Comparator.comparing(
                    Group::merchant, java.util.Comparator.nullsLast(String::compareTo))
                .thenComparing(Group::state));
    // A cursor: a month of payloads (up to 64 KiB each) is read a page at a time, never held.
    try (var c = dataSource.getConnection();
        var read =
            c.prepareStatement(
                """
                SELECT b.merchant, o.state, o.payload::text
                  FROM automation_item_outcomes o
                  LEFT JOIN automation_batches b ON b.batch_id = o.batch_id
                 WHERE o.tenant_id = ? AND o.finished_at >= ? AND o.finished_at < ?
                   AND o.state <> 'redriven'
                """)) {
      c.setAutoCommit(false);
      try {
        read.setFetchSize(500);
        read.setString(1, tenantId);
        read.setTimestamp(2, java.sql.Timestamp.from(from));
        read.setTimestamp(3, java.sql.Timestamp.from(to));
        try (var rs = read.executeQuery()) {
          while (rs.next()) {
            var merchant = rs.getString(1);
            var state = rs.getString(2);
            var total = total(tenantId, rs.getString(3), payloads);
            byGroup.merge(
                new Group(merchant, state),
                new CfdiLine(
                    merchant, state, 1, total.orElse(BigDecimal.ZERO), total.isEmpty() ? 1 : 0),
                (a, b) ->
                    new CfdiLine(
                        a.merchant(),
                        a.state(),
                        a.tickets() + b.tickets(),
                        a.total().add(b.total()),
                        a.withoutTotal() + b.withoutTotal()));
          }
        }
      } finally {
        c.rollback();
        c.setAutoCommit(true);
      }
    }
    return List.copyOf(byGroup.values());
  }

  /**
   * A ticket's {@code total}: a number under a trillion of at most 40 characters; anything else (or
   * a payload that does not open) is counted apart, not summed.
   */
  private static java.util.Optional<BigDecimal> total(
      String tenantId, String payload, PayloadKeys payloads) throws SQLException {
    try {
      var total = EXACT.readTree(payloads.open(tenantId, payload)).get("total");
      if (total == null || !total.isNumber()) {
        return java.util.Optional.empty();
      }
      var value = total.decimalValue();
      return value.toPlainString().length() <= 40 && value.abs().compareTo(TRILLION) < 0
          ? java.util.Optional.of(value)
          : java.util.Optional.empty();
    } catch (PayloadCipher.UnreadablePayloadException e) {
      org.jboss.logging.Logger.getLogger(TenantUsageStore.class)
          .warnf("CFDI report of %s: a ticket counted without total: %s", tenantId, e.getMessage());
      return java.util.Optional.empty();
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return java.util.Optional.empty();
    }
  }
}
