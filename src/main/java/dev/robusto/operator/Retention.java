package dev.robusto.operator;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;

/**
 * Ages data out in bounded steps: each call of robusto_retention_cleanup deletes at most {@code
 * batchSize} rows of each table (its own short transaction), and the sweep calls it again until a
 * call finds fewer than that everywhere. Live queue rows are never touched, so a running batch goes
 * on as if nothing happened.
 */
public final class Retention {

  /** How old a finished ticket's rows (and fleet attempts) and a daily usage row may get. */
  public record Windows(Duration finishedAfter, Duration metricsAfter, int batchSize) {}

  /** Tables of daily rows, aged by the metrics window; the others by the finished window. */
  static final Set<String> DAILY_TABLES =
      Set.of(
          "automation_metrics",
          "automation_usage",
          "automation_latency",
          "automation_attempt_latency");

  /** What a sweep removed, per table, in how many calls, and what was older than what. */
  public record Removed(
      Map<String, Long> rowsByTable, int calls, Instant finishedBefore, LocalDate metricsBefore) {
    public long total() {
      return rowsByTable.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The cutoff {@code table}'s rows were older than: a day or an instant. */
    public String cutoff(String table) {
      return DAILY_TABLES.contains(table) ? metricsBefore.toString() : finishedBefore.toString();
    }
  }

  private final Sql sql;
  private final Windows windows;

  public Retention(DataSource dataSource, Windows windows) {
    this.sql = new Sql(dataSource);
    this.windows = windows;
  }

  public Removed sweep(Instant now) throws SQLException {
    var finishedBefore = now.minus(windows.finishedAfter());
    var metricsBefore = LocalDate.ofInstant(now.minus(windows.metricsAfter()), ZoneOffset.UTC);
    var removed = new LinkedHashMap<String, Long>();
    var calls = 0;
    boolean more;
    do {
      calls++;
      more = false;
      for (var step :
          sql.list(
              """
              SELECT table_name, rows_deleted FROM robusto_retention_cleanup(?, ?, ?)
              """,
              rs -> Map.entry(rs.getString(1), rs.getLong(2)),
              finishedBefore,
              metricsBefore,
              windows.batchSize())) {
        removed.merge(step.getKey(), step.getValue(), Long::sum);
        more |= step.getValue() >= windows.batchSize();
      }
    } while (more);
    return new Removed(removed, calls, finishedBefore, metricsBefore);
  }
}
