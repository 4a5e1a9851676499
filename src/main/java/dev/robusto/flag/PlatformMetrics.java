package dev.robusto.flag;

import dev.robusto.operator.Sql;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/** Each tenant's health figures, from its tickets' outcomes, for flags that watch them. */
public final class PlatformMetrics {

  /** Tickets finished in a window, and how many of them failed or were dead-lettered. */
  public record Outcomes(long finished, long failed, long deadLettered) {

    public double failureRate() {
      return finished == 0 ? 0 : (double) (failed + deadLettered) / finished;
    }

    public double deadLetterRate() {
      return finished == 0 ? 0 : (double) deadLettered / finished;
    }
  }

  private final Sql sql;

  public PlatformMetrics(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /** Outcomes of each of the given tenants' tickets finished within the last {@code window}. */
  public Map<String, Outcomes> outcomesByTenant(List<String> tenants, Duration window)
      throws SQLException {
    var rows =
        sql.list(
            """
            SELECT tenant_id, count(*) FILTER (WHERE state <> 'cancelled'),
              count(*) FILTER (WHERE state = 'failed'),
              count(*) FILTER (WHERE state IN ('dead_lettered', 'redriven'))
            FROM automation_item_outcomes WHERE tenant_id = ANY(?)
              AND finished_at > now() - ? * interval '1 millisecond'
            GROUP BY tenant_id
            """,
            rs ->
                Map.entry(
                    rs.getString(1), new Outcomes(rs.getLong(2), rs.getLong(3), rs.getLong(4))),
            Sql.array("text", tenants.toArray()),
            window.toMillis());
    var outcomes = new TreeMap<String, Outcomes>();
    for (var row : rows) {
      outcomes.put(row.getKey(), row.getValue());
    }
    return outcomes;
  }
}
