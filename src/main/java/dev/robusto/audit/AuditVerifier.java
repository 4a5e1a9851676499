package dev.robusto.audit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;

/**
 * Walks the audit chain from the first row and reports the first link that does not hold: a seq gap
 * (a row deleted), a prev_hash that is not the previous row's hash, or a hash that does not match
 * the row's own content. Then it checks the chain head and, when given, an anchor kept outside the
 * database, which catches a rewrite that recomputed every hash or a truncated tail. Needs nothing
 * but a JDBC connection, so it also runs when the operator does not.
 */
public final class AuditVerifier {

  private static final int FETCH_SIZE = 10_000;

  private AuditVerifier() {}

  public static AuditVerification verify(Connection connection, AuditAnchor anchor)
      throws SQLException {
    return verify(connection, null, anchor);
  }

  /**
   * Walks the chain after {@code from}, a row verified before (from the first row when null), after
   * checking that row still carries the hash it had. That catches a rewrite that recomputed hashes
   * up to or past it, and any change after it; a change before it that kept every hash is found
   * only by a walk from the first row.
   */
  public static AuditVerification verify(
      Connection connection, AuditAnchor from, AuditAnchor anchor) throws SQLException {
    var started = System.nanoTime();
    var autoCommit = connection.getAutoCommit();
    // A cursor (fetch size) needs a transaction in pgjdbc; read-only, so it holds nothing.
    connection.setAutoCommit(false);
    try {
      return walk(connection, from, anchor, started);
    } finally {
      connection.rollback();
      connection.setAutoCommit(autoCommit);
    }
  }

  private static AuditVerification walk(
      Connection connection, AuditAnchor from, AuditAnchor anchor, long started)
      throws SQLException {
    var rewritten = rewrittenBefore(connection, from, anchor);
    if (rewritten != null) {
      return broken(0, rewritten.seq(), rewritten.message(), started);
    }
    var sha256 = AuditCanonical.sha256();
    long rows = 0;
    long expectedSeq = from == null ? 1 : from.seq() + 1;
    var previousHash = from == null ? "" : from.hash();
    var anchorSeen = from != null && anchor != null && anchor.seq() <= from.seq();
    try (var statement =
        connection.prepareStatement(
            "SELECT seq, at, actor, action, resource, tenant_id, before_hash, after_hash,"
                + " prev_hash, hash FROM audit_log WHERE seq >= ? ORDER BY seq")) {
      statement.setLong(1, expectedSeq);
      statement.setFetchSize(FETCH_SIZE);
      try (var rs = statement.executeQuery()) {
        while (rs.next()) {
          rows++;
          var problem = rowProblem(rs, expectedSeq, previousHash, sha256, anchor);
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
    var head = lastSeq == 0 ? null : new AuditAnchor(lastSeq, previousHash);
    return new AuditVerification(true, rows, null, null, elapsedMillis(started), head);
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
