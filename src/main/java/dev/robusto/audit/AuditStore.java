package dev.robusto.audit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/** The operator's audit log and chain queries, on its PostgreSQL datasource. */
@ApplicationScoped
public class AuditStore {

  private final DataSource dataSource;

  public AuditStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Produces
  @Singleton
  AuditLog auditLog() {
    return new AuditLog(dataSource);
  }

  void close(@Disposes AuditLog log) {
    log.close();
  }

  /** Walks the chain after {@code from} (a row verified before; null: from the first row). */
  public AuditVerification verify(AuditAnchor from, AuditAnchor anchor) throws SQLException {
    try (var connection = dataSource.getConnection()) {
      return AuditVerifier.verify(connection, from, anchor);
    }
  }

  /** The last row of the chain, or empty before the first append. */
  public Optional<AuditAnchor> last() throws SQLException {
    return query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  }

  /** The row at {@code seq} as it is now, to check an anchor against. */
  public Optional<AuditAnchor> at(long seq) throws SQLException {
    return query("SELECT seq, hash FROM audit_log WHERE seq = " + seq);
  }

  private Optional<AuditAnchor> query(String sql) throws SQLException {
    try (var connection = dataSource.getConnection();
        var rs = connection.createStatement().executeQuery(sql)) {
      return rs.next()
          ? Optional.of(new AuditAnchor(rs.getLong(1), rs.getString(2)))
          : Optional.empty();
    }
  }
}
