package dev.robusto.tenant;

import dev.robusto.operator.Sql;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Which tenant owns a namespace, with the limits the Tenant reconciler wrote for it: the one lookup
 * batches, fleets and the APIs share. Only live tenants answer; rows retained after a deletion do
 * not.
 */
public final class TenantDirectory {

  /** A tenant as the other resources see it: its id and the limits they must keep within. */
  public record Entry(
      String tenantId,
      int maxConcurrentJobs,
      int maxDailyJobs,
      int requestsPerMinute,
      boolean suspended) {}

  private final Sql sql;

  public TenantDirectory(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  public Optional<Entry> ofNamespace(String namespace) throws SQLException {
    return sql.one(
        """
        SELECT tenant_id, max_concurrent_jobs, max_daily_jobs, requests_per_minute,
          suspended FROM tenant_config WHERE namespace = ? AND retained_at IS NULL
        """,
        rs ->
            new Entry(rs.getString(1), rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getBoolean(5)),
        namespace);
  }
}
