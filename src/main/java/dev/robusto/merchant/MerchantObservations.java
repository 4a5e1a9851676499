package dev.robusto.merchant;

import dev.robusto.operator.Sql;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * What a tenant's workers reported of a Merchant's portal (V14's calls per minute, V11's circuits):
 * the reconciler polls it for the Merchant's status, as JOSDK's polling dependents do for an
 * external database.
 */
public final class MerchantObservations {

  /**
   * The last hour's calls, the credential state of the newest report in it (null: none), when that
   * was, and each URL's circuit as reported in the last 2 minutes (open if any worker has it open).
   */
  public record Seen(
      long succeeded,
      long failed,
      long fallbacks,
      String credential,
      Instant lastReport,
      Map<String, Boolean> circuits) {

    static final Seen NOTHING = new Seen(0, 0, 0, null, null, Map.of());
  }

  private final Sql sql;

  public MerchantObservations(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /**
   * What {@code tenant}'s workers saw of merchant {@code name}, whose URLs are {@code circuits}.
   */
  public Seen of(String tenant, String name, List<String> circuits) throws SQLException {
    var calls =
        sql.one(
                """
                SELECT coalesce(sum(succeeded), 0), coalesce(sum(failed), 0),
                       coalesce(sum(fallbacks), 0),
                       (SELECT credential FROM automation_merchant_calls
                         WHERE tenant_id = ? AND merchant = ?
                           AND minute > now() - interval '1 hour'
                         ORDER BY reported_at DESC LIMIT 1),
                       max(reported_at)
                  FROM automation_merchant_calls
                 WHERE tenant_id = ? AND merchant = ? AND minute > now() - interval '1 hour'
                """,
                rs ->
                    new Seen(
                        rs.getLong(1),
                        rs.getLong(2),
                        rs.getLong(3),
                        rs.getString(4),
                        rs.getTimestamp(5) == null ? null : rs.getTimestamp(5).toInstant(),
                        Map.of()),
                tenant,
                name,
                tenant,
                name)
            .orElse(Seen.NOTHING);
    var open = new TreeMap<String, Boolean>();
    sql.list(
        """
        SELECT endpoint, bool_or(open) FROM automation_circuits
         WHERE tenant_id = ? AND endpoint = ANY(?) AND reported_at > now() - interval '2 minutes'
         GROUP BY endpoint
        """,
        rs -> open.put(rs.getString(1), rs.getBoolean(2)),
        tenant,
        Sql.array("text", circuits.toArray()));
    return new Seen(
        calls.succeeded(),
        calls.failed(),
        calls.fallbacks(),
        calls.credential(),
        calls.lastReport(),
        Map.copyOf(open));
  }
}
