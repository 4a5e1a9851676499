package dev.robusto.store;

import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;

/** The feature_flags rows the existing application reads: each tenant's resolved flags. */
public final class FlagStore {

  /** One tenant's answer for one flag; variant and value are null when the flag is off. */
  public record Row(String flagKey, boolean enabled, String variant, String valueJson) {}

  private final DataSource dataSource;

  public FlagStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Makes the tenant's rows exactly {@code rows} in one transaction, writing only rows that
   * changed. Returns how many rows were written or deleted.
   */
  public int replaceTenant(String tenantId, List<Row> rows) throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var upsert =
              c.prepareStatement(
                  "INSERT INTO feature_flags (tenant_id, flag_key, enabled, variant, value)"
                      + " VALUES (?, ?, ?, ?, ?::jsonb) ON CONFLICT (tenant_id, flag_key) DO UPDATE"
                      + " SET enabled = excluded.enabled, variant = excluded.variant,"
                      + " value = excluded.value, updated_at = now()"
                      + " WHERE (feature_flags.enabled, feature_flags.variant, feature_flags.value)"
                      + " IS DISTINCT FROM (excluded.enabled, excluded.variant, excluded.value)");
          var prune =
              c.prepareStatement(
                  "DELETE FROM feature_flags WHERE tenant_id = ? AND flag_key <> ALL(?)")) {
        var written = 0;
        for (var row : rows) {
          upsert.setString(1, tenantId);
          upsert.setString(2, row.flagKey());
          upsert.setBoolean(3, row.enabled());
          upsert.setString(4, row.variant());
          upsert.setString(5, row.valueJson());
          upsert.addBatch();
        }
        // One round trip for all the tenant's flags: every flag change reconciles every tenant.
        for (var count : upsert.executeBatch()) {
          written += Math.max(count, 0);
        }
        prune.setString(1, tenantId);
        prune.setArray(2, c.createArrayOf("text", rows.stream().map(Row::flagKey).toArray()));
        written += prune.executeUpdate();
        c.commit();
        return written;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** Whether the tenant's config row exists yet (its flags reference it). */
  public boolean tenantKnown(String tenantId) throws SQLException {
    try (var c = dataSource.getConnection();
        var query = c.prepareStatement("SELECT 1 FROM tenant_config WHERE tenant_id = ?")) {
      query.setString(1, tenantId);
      try (var rs = query.executeQuery()) {
        return rs.next();
      }
    }
  }
}
