package dev.robusto.flag;

import dev.robusto.operator.Sql;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;

/** The feature_flags rows the existing application reads: each tenant's resolved flags. */
public final class FlagStore {

  /** One tenant's answer for one flag; variant and value are null when the flag is off. */
  public record Row(String flagKey, boolean enabled, String variant, String valueJson) {}

  private final Sql sql;

  public FlagStore(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /**
   * Makes the tenant's rows exactly {@code rows} in one transaction, writing only rows that
   * changed. Returns how many rows were written or deleted.
   */
  public int replaceTenant(String tenantId, List<Row> rows) throws SQLException {
    return sql.inTransaction(
        c -> {
          // One round trip for all the tenant's flags: every flag change reconciles every tenant.
          var counts =
              Sql.batch(
                  c,
                  """
                  INSERT INTO feature_flags (tenant_id, flag_key, enabled, variant, value)
                  VALUES (?, ?, ?, ?, ?::jsonb) ON CONFLICT (tenant_id, flag_key) DO UPDATE
                  SET enabled = excluded.enabled, variant = excluded.variant,
                    value = excluded.value, updated_at = now()
                  WHERE (feature_flags.enabled, feature_flags.variant, feature_flags.value)
                    IS DISTINCT FROM (excluded.enabled, excluded.variant, excluded.value)
                  """,
                  rows.stream()
                      .map(
                          r ->
                              new Object[] {
                                tenantId, r.flagKey(), r.enabled(), r.variant(), r.valueJson()
                              })
                      .toList());
          var written = 0;
          for (var count : counts) {
            written += Math.max(count, 0);
          }
          written +=
              Sql.update(
                  c,
                  """
                  DELETE FROM feature_flags WHERE tenant_id = ? AND flag_key <> ALL(?)
                  """,
                  tenantId,
                  Sql.array("text", rows.stream().map(Row::flagKey).toArray()));
          return written;
        });
  }

  /** Whether the tenant's config row exists yet (its flags reference it). */
  public boolean tenantKnown(String tenantId) throws SQLException {
    return sql.one(
            """
            SELECT 1 FROM tenant_config WHERE tenant_id = ?
            """,
            rs -> true,
            tenantId)
        .isPresent();
  }
}
