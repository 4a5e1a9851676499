package dev.robusto.audit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Walks the audit chain from the first row and reports the first link that does not hold: a seq gap
 * (a row deleted), a prev_hash that is not the previous row's hash, or a hash that does not match
 * the row's own content. With seal keys, every row from the first sealed one on must carry a seal
 * that matches under a live key ({@link AuditKeys}): that catches a rewrite that recomputed the
 * hashes, at the first row rewritten. Then it checks the chain head and, when given, an anchor kept
 * outside the database, which catches a truncated tail. Needs nothing but a JDBC connection (and
 * the keys), so it also runs when the operator does not.
 */
public final class AuditVerifier {

  private static final int FETCH_SIZE = 10_000;

  private AuditVerifier() {}

  public static AuditVerification verify(Connection connection, AuditKeys keys, AuditAnchor anchor)
      throws SQLException {
    return verify(connection, keys, null, anchor);
  }

  /**
   * Walks the chain after {@code from}, a row verified before (from the first row when null), after
   * checking that row still carries the hash it had. That catches a rewrite that recomputed hashes
   * up to or past it, and any change after it; a change before it that kept every hash is found
   * only by a walk from the first row.
   */
  public static AuditVerification verify(
      Connection connection, AuditKeys keys, AuditAnchor from, AuditAnchor anchor)
      throws SQLException {
    var started = System.nanoTime();
    var autoCommit = connection.getAutoCommit();
    // A cursor (fetch size) needs a transaction in pgjdbc; read-only, so it holds nothing.
    connection.setAutoCommit(false);
    try {
      return walk(connection, keys, from, anchor, started);
    } finally {
      connection.rollback();
      connection.setAutoCommit(autoCommit);
    }
  }

  private static AuditVerification walk(
      Connection connection, AuditKeys keys, AuditAnchor from, AuditAnchor anchor, long started)
      throws SQLException {
    var rewritten = rewrittenBefore(connection, from, anchor);
    if (rewritten != null) {
      return broken(0, rewritten.seq(), rewritten.message(), started);
    }
    var sha256 = AuditCanonical.sha256();
    var macs = keys.sealing() ? keys.macs() : null;
    var sealedFrom = keys.sealing() ? firstSealed(connection) : null;
    long rows = 0;
    long expectedSeq = from == null ? 1 : from.seq() + 1;
    var previousHash = from == null ? "" : from.hash();
    var anchorSeen = from != null && anchor != null && anchor.seq() <= from.seq();
    try (var statement = connection.prepareStatement(ROWS);
        var sealStatement = connection.prepareStatement(SEALS)) {
      statement.setLong(1, expectedSeq);
      statement.setFetchSize(FETCH_SIZE);
      sealStatement.setLong(1, expectedSeq);
      sealStatement.setFetchSize(FETCH_SIZE);
      // Two cursors in seq order, merged here: cheaper than a join that groups seals per row.
      try (var rs = statement.executeQuery();
          var seals = macs != null ? new SealCursor(sealStatement.executeQuery()) : null) {
        while (rs.next()) {
          rows++;
          var problem = rowProblem(rs, expectedSeq, previousHash, sha256, anchor);
          if (problem == null && seals != null) {
            problem =
                sealProblem(
                    rs.getLong(1), rs.getString(10), seals.of(rs.getLong(1)), macs, sealedFrom);
          }
          if (problem != null) {
            return broken(rows, problem.seq(), problem.message(), started);
          }
          anchorSeen |= anchor != null && anchor.seq() == expectedSeq;
          previousHash = rs.getString(10);
          expectedSeq++;
        }
      }
    }
    var lastSeq = expectedSeq - 1;
    if (anchor != null && !anchorSeen && anchor.seq() > 0) {
      return broken(
          rows,
          lastSeq + 1,
          "the chain ends at row "
              + lastSeq
              + " but the anchor kept outside the database is at row "
              + anchor.seq()
              + ": rows were removed",
          started);
    }
    if (macs != null && sealedFrom == null && lastSeq > 0) {
      return broken(
          rows,
          1,
          "no row of the chain is sealed although seal keys are configured: the seals were"
              + " removed, or no operator with the keys has appended yet",
          started);
    }
    var head = lastSeq == 0 ? null : new AuditAnchor(lastSeq, previousHash);
    return new AuditVerification(true, rows, null, null, elapsedMillis(started), head);
  }

  private static final String ROWS =
      "SELECT seq, at, actor, action, resource, tenant_id, before_hash, after_hash, prev_hash, hash"
          + " FROM audit_log WHERE seq >= ? ORDER BY seq";
  private static final String SEALS =
      "SELECT seq, key_id, mac FROM audit_seals WHERE seq >= ? ORDER BY seq, key_id";

  /** A seal: the key it was made with and the MAC. */
  private record Seal(String keyId, String mac) {}

  /** The seals in seq order, handed out row by row; seals of rows that do not exist are skipped. */
  private static final class SealCursor implements AutoCloseable {
    private final ResultSet rs;
    private boolean more;

    SealCursor(ResultSet rs) throws SQLException {
      this.rs = rs;
      this.more = rs.next();
    }

    List<Seal> of(long seq) throws SQLException {
      while (more && rs.getLong(1) < seq) {
        more = rs.next();
      }
      var found = new ArrayList<Seal>(1);
      while (more && rs.getLong(1) == seq) {
        found.add(new Seal(rs.getString(2), rs.getString(3)));
        more = rs.next();
      }
      return found;
    }

    @Override
    public void close() throws SQLException {
      rs.close();
    }
  }

  /** Where the chain breaks, and how, in words. */
  private record Problem(long seq, String message) {}

  /**
   * An incremental walk starts after {@code from}: the rows it trusts (its start, and the anchor if
   * that is behind it) must still have the hashes they had when verified or anchored.
   */
  private static Problem rewrittenBefore(
      Connection connection, AuditAnchor from, AuditAnchor anchor) throws SQLException {
    if (from == null) {
      return null;
    }
    for (var known : new AuditAnchor[] {from, anchor}) {
      if (known != null
          && known.seq() <= from.seq()
          && !known.hash().equals(hashAt(connection, known.seq()))) {
        return new Problem(
            known.seq(),
            "row "
                + known.seq()
                + " no longer has the hash it had when verified or anchored: the chain was"
                + " rewritten");
      }
    }
    return null;
  }

  /** Why the row under {@code rs} breaks the chain, or null when it links and hashes right. */
  private static Problem rowProblem(
      ResultSet rs,
      long expectedSeq,
      String previousHash,
      java.security.MessageDigest sha256,
      AuditAnchor anchor)
      throws SQLException {
    var seq = rs.getLong(1);
    var prevHash = rs.getString(9);
    var hash = rs.getString(10);
    if (seq != expectedSeq) {
      return new Problem(
          expectedSeq, "row " + expectedSeq + " is missing (next row is " + seq + ")");
    }
    if (!previousHash.equals(prevHash)) {
      return new Problem(seq, "row " + seq + " does not link to row " + (seq - 1));
    }
    var canonical =
        AuditCanonical.canonical(
            seq,
            epochMicros(rs.getObject(2, OffsetDateTime.class)),
            rs.getString(3),
            rs.getString(4),
            rs.getString(5),
            rs.getString(6),
            rs.getString(7),
            rs.getString(8));
    if (!AuditCanonical.chainHash(sha256, prevHash, canonical).equals(hash)) {
      return new Problem(seq, "row " + seq + " was altered: its content does not match its hash");
    }
    if (anchor != null && anchor.seq() == seq && !anchor.hash().equals(hash)) {
      return new Problem(
          seq,
          "row "
              + seq
              + " differs from the anchor kept outside the database: the chain was rewritten");
    }
    return null;
  }

  /**
   * Why the row under {@code rs} is not sealed as it must be, or null. Rows before the first sealed
   * one predate the keys and rest on the hash chain alone (the first sealed row's hash covers
   * them).
   */
  private static Problem sealProblem(
      long seq, String hash, List<Seal> seals, AuditKeys.Macs macs, Long sealedFrom) {
    if (seals.isEmpty()) {
      return sealedFrom != null && seq >= sealedFrom
          ? new Problem(
              seq,
              "row "
                  + seq
                  + " has no seal: it was not appended by the operator, or its seal was removed")
          : null;
    }
    var verified = false;
    for (var seal : seals) {
      var matches = macs.matches(seal.keyId(), seq, hash, seal.mac());
      if (Boolean.FALSE.equals(matches)) {
        return new Problem(
            seq,
            "row "
                + seq
                + "'s seal under key "
                + seal.keyId()
                + " does not match: the row was rewritten by someone without the audit key");
      }
      verified |= Boolean.TRUE.equals(matches);
    }
    return verified
        ? null
        : new Problem(
            seq,
            "row "
                + seq
                + " is sealed only under key(s) "
                + String.join(", ", seals.stream().map(Seal::keyId).toList())
                + ", none of them live: put the key back in robusto.audit.seal-keys until every row"
                + " is re-sealed under the new one");
  }

  private static Long firstSealed(Connection connection) throws SQLException {
    try (var query = connection.prepareStatement("SELECT min(seq) FROM audit_seals");
        var rs = query.executeQuery()) {
      rs.next();
      var seq = rs.getLong(1);
      return rs.wasNull() ? null : seq;
    }
  }

  private static String hashAt(Connection connection, long seq) throws SQLException {
    try (var query = connection.prepareStatement("SELECT hash FROM audit_log WHERE seq = ?")) {
      query.setLong(1, seq);
      try (var rs = query.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static AuditVerification broken(long rows, long seq, String problem, long started) {
    return new AuditVerification(false, rows, seq, problem, elapsedMillis(started), null);
  }

  static long epochMicros(OffsetDateTime at) {
    return ChronoUnit.MICROS.between(OffsetDateTime.parse("1970-01-01T00:00:00Z"), at);
  }

  private static long elapsedMillis(long started) {
    return (System.nanoTime() - started) / 1_000_000;
  }
}
