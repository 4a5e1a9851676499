package dev.robusto.audit;

import dev.robusto.operator.Leadership;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.util.ArrayList;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * The leader's side of the seal keys ({@link AuditKeys}). The first time a key is the current one,
 * the chain records it (action {@code rotate}, resource {@code AuditSealKey/<id>}, sealed under
 * it). Then every row sealed under another live key gets a seal under the current one, its old seal
 * checked first, so that after a rotation the old key can be retired. A row with no seal at all is
 * never sealed afterwards: that would vouch for what someone else wrote.
 */
@ApplicationScoped
public class AuditSealing {

  private static final Logger LOG = Logger.getLogger(AuditSealing.class);
  private static final int BATCH = 5_000;
  private static final String WAITING =
      "SELECT l.seq, l.hash, array_agg(s.key_id), array_agg(s.mac) FROM audit_log l"
          + " JOIN audit_seals s ON s.seq = l.seq WHERE l.seq > ? AND NOT EXISTS"
          + " (SELECT FROM audit_seals c WHERE c.seq = l.seq AND c.key_id = ?)"
          + " GROUP BY l.seq, l.hash ORDER BY l.seq LIMIT ?";

  private final DataSource dataSource;
  private final AuditStore store;
  private final AuditLog log;
  private final Leadership leadership;

  AuditSealing(DataSource dataSource, AuditStore store, AuditLog log, Leadership leadership) {
    this.dataSource = dataSource;
    this.store = store;
    this.log = log;
    this.leadership = leadership;
  }

  @Scheduled(
      every = "${robusto.audit.reseal-interval}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void scheduled() {
    if (!leadership.leads()) {
      return;
    }
    try {
      reseal();
    } catch (SQLException | RuntimeException e) {
      LOG.warnf("Could not re-seal the audit chain: %s", e.getMessage());
    }
  }

  /** What a pass did: rows re-sealed under the current key, and rows whose old seal was wrong. */
  public record Pass(long resealed, long refused) {}

  /** Records the current key if new, then re-seals every row waiting for it. */
  public Pass reseal() throws SQLException {
    var keys = store.keys();
    if (!keys.sealing()) {
      return new Pass(0, 0);
    }
    var current = keys.currentId();
    if (!sealsUnder(current)) {
      log.append(
          new AuditEntry(
              "robusto-operator/audit", "rotate", "AuditSealKey/" + current, null, null, null));
    }
    var macs = keys.macs();
    long after = 0;
    long resealed = 0;
    long refused = 0;
    int read;
    do {
      read = 0;
      var sealable = new ArrayList<AuditAnchor>();
      try (var c = dataSource.getConnection()) {
        c.setAutoCommit(false);
        try (var q = c.prepareStatement(WAITING)) {
          q.setLong(1, after);
          q.setString(2, current);
          q.setInt(3, BATCH);
          try (var rs = q.executeQuery()) {
            while (rs.next()) {
              read++;
              var row = new AuditAnchor(rs.getLong(1), rs.getString(2));
              after = row.seq();
              if (vouched(
                  macs,
                  row,
                  (String[]) rs.getArray(3).getArray(),
                  (String[]) rs.getArray(4).getArray())) {
                sealable.add(row);
              } else {
                refused++;
                LOG.warnf(
                    "Audit row %d is not re-sealed: no live key's seal matches it. Run 'robusto"
                        + " audit verify'.",
                    row.seq());
              }
            }
          }
        }
        AuditLog.seal(c, macs, sealable);
        c.commit();
      }
      resealed += sealable.size();
    } while (read == BATCH);
    if (resealed > 0) {
      LOG.infof("Re-sealed %d audit rows under key %s", resealed, current);
    }
    return new Pass(resealed, refused);
  }

  /** Whether a live key's seal matches the row and none contradicts it. */
  private static boolean vouched(
      AuditKeys.Macs macs, AuditAnchor row, String[] ids, String[] seals) {
    var matched = false;
    for (int i = 0; i < ids.length; i++) {
      var matches = macs.matches(ids[i], row.seq(), row.hash(), seals[i]);
      if (Boolean.FALSE.equals(matches)) {
        return false;
      }
      matched |= Boolean.TRUE.equals(matches);
    }
    return matched;
  }

  private boolean sealsUnder(String keyId) throws SQLException {
    try (var c = dataSource.getConnection();
        var q = c.prepareStatement("SELECT EXISTS (SELECT FROM audit_seals WHERE key_id = ?)")) {
      q.setString(1, keyId);
      try (var rs = q.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }
}
