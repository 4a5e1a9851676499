package dev.robusto.audit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** The operator's audit log and chain queries, on its PostgreSQL datasource. */
@ApplicationScoped
public class AuditStore {

  private static final Logger LOG = Logger.getLogger(AuditStore.class);

  private final DataSource dataSource;
  private final AuditCheckpoints.Chain chain;
  private final AuditKeys keys;

  AuditStore(
      DataSource dataSource,
      @ConfigProperty(name = "robusto.audit.seal-keys") Optional<String> sealKeys,
      @ConfigProperty(name = "robusto.audit.sealed-from") long sealedFrom) {
    this.dataSource = dataSource;
    this.chain = new AuditCheckpoints.Chain(dataSource);
    this.keys = AuditKeys.parse(sealKeys.orElse("")).sealedFrom(sealedFrom);
    if (!keys.sealing()) {
      LOG.warn(
          "The audit chain is not sealed: set robusto.audit.seal-keys (the chart's"
              + " audit.sealKeys) so a rewrite in the database is found at its first row");
    }
  }

  /** The keys the chain is sealed and verified with (ids only in its toString). */
  public AuditKeys keys() {
    return keys;
  }

  @Produces
  @Singleton
  AuditLog auditLog() {
    return new AuditLog(dataSource, keys);
  }

  void close(@Disposes AuditLog log) {
    log.close();
  }

  /** Walks the chain after {@code from} (a row verified before; null: from the first row). */
  public AuditVerification verify(AuditAnchor from, AuditAnchor anchor) throws SQLException {
    try (var connection = dataSource.getConnection()) {
      return AuditVerifier.verify(connection, keys, from, anchor);
    }
  }

  /** The last row of the chain, or empty before the first append. */
  public Optional<AuditAnchor> last() throws SQLException {
    return chain.last();
  }

  /** The row at {@code seq} as it is now, to check an anchor against. */
  public Optional<AuditAnchor> at(long seq) throws SQLException {
    return chain.at(seq);
  }

  /** The hashes the rows at {@code seqs} have now, by seq (a row that is gone is absent). */
  public java.util.Map<Long, String> hashesAt(java.util.Collection<Long> seqs) throws SQLException {
    var hashes = new java.util.HashMap<Long, String>();
    try (var connection = dataSource.getConnection();
        var query =
            connection.prepareStatement("SELECT seq, hash FROM audit_log WHERE seq = ANY(?)")) {
      query.setArray(1, connection.createArrayOf("bigint", seqs.toArray(Long[]::new)));
      try (var rs = query.executeQuery()) {
        while (rs.next()) {
          hashes.put(rs.getLong(1), rs.getString(2));
        }
      }
    }
    return hashes;
  }

  /**
   * SQL for the last row recording the erasure of the rows of {@code outer}'s tenant, or 0 ({@code
   * outer}: the alias of the audit_log row asked about). A tenant's own entries are those after it:
   * a Tenant re-created under an erased name starts afresh.
   */
  public static String lastErasureOf(String outer) {
    return ("coalesce((SELECT max(e.seq) FROM audit_log e WHERE e.tenant_id = %1$s.tenant_id"
            + " AND e.action = 'erase' AND e.resource = 'tenant-rows/' || %1$s.tenant_id), 0)")
        .formatted(outer);
  }

  /** One row of the trail as it is stored. */
  public record Row(
      long seq,
      java.time.Instant at,
      String actor,
      String action,
      String resource,
      String tenantId,
      String beforeHash,
      String afterHash,
      String hash,
      String actorGroups) {}

  /**
   * What to read: each non-null field narrows it (the tenant, the actor and the action exactly, the
   * resource by prefix, the time as [from, to)); {@code sinceLastErasure} keeps only what was
   * recorded after the tenant's name was last erased (not an erased predecessor's of that name).
   */
  public record Filter(
      String tenantId,
      String actor,
      String action,
      String resourcePrefix,
      java.time.Instant from,
      java.time.Instant to,
      boolean sinceLastErasure) {}

  /**
   * Up to {@code limit} rows matching {@code filter} before row {@code beforeSeq}, newest first.
   */
  public java.util.List<Row> entries(Filter filter, long beforeSeq, int limit) throws SQLException {
    var where = new StringBuilder("seq < ?");
    var params = new java.util.ArrayList<Object>(java.util.List.of(beforeSeq));
    // Only the filters given, so the planner sees each query as it is (the tenant's index).
    condition(where, params, " AND tenant_id = ?", filter.tenantId());
    condition(where, params, " AND actor = ?", filter.actor());
    condition(where, params, " AND action = ?", filter.action());
    condition(where, params, " AND starts_with(resource, ?)", filter.resourcePrefix());
    condition(
        where,
        params,
        " AND at >= ?",
        filter.from() == null ? null : java.sql.Timestamp.from(filter.from()));
    condition(
        where,
        params,
        " AND at < ?",
        filter.to() == null ? null : java.sql.Timestamp.from(filter.to()));
    if (filter.sinceLastErasure()) {
      where.append(" AND seq > ").append(lastErasureOf("audit_log"));
    }
    params.add(limit);
    return new dev.robusto.operator.Sql(dataSource)
        .list(
            "SELECT seq, at, actor, action, resource, tenant_id, before_hash, after_hash, hash,"
                + " actor_groups FROM audit_log WHERE "
                + where
                + " ORDER BY seq DESC LIMIT ?",
            rs ->
                new Row(
                    rs.getLong(1),
                    rs.getTimestamp(2).toInstant(),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getString(5),
                    rs.getString(6),
                    rs.getString(7),
                    rs.getString(8),
                    rs.getString(9),
                    rs.getString(10)),
            params.toArray());
  }

  private static void condition(
      StringBuilder where, java.util.List<Object> params, String sql, Object value) {
    if (value != null) {
      where.append(sql);
      params.add(value);
    }
  }
}
