package dev.robusto.store;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;

/** The platform's own health figures, from the tickets' outcomes, for flags that watch them. */
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

  private final DataSource dataSource;

  public PlatformMetrics(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** Outcomes of the given tenants' tickets finished within the last {@code window}. */
  public Outcomes outcomes(List<String> tenants, Duration window) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT count(*), count(*) FILTER (WHERE state = 'failed'),"
                    + " count(*) FILTER (WHERE state = 'dead_lettered')"
                    + " FROM automation_item_outcomes WHERE tenant_id = ANY(?)"
                    + " AND finished_at > now() - ? * interval '1 millisecond'")) {
      query.setArray(1, c.createArrayOf("text", tenants.toArray()));
      query.setLong(2, window.toMillis());
      try (var rs = query.executeQuery()) {
        rs.next();
        return new Outcomes(rs.getLong(1), rs.getLong(2), rs.getLong(3));
      }
    }
  }
}
