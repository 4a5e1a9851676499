package dev.robusto.audit;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.postgresql.copy.PGCopyInputStream;

/**
 * Walks the audit chain from the first row and reports the first link that does not hold: a seq gap
 * (a row deleted), a prev_hash that is not the previous row's hash, or a hash that does not match
 * the row's own content. With seal keys, every row (from {@code robusto.audit.sealed-from} on) must
 * carry a seal that matches under a live key ({@link AuditKeys}): that catches a rewrite that
 * recomputed the hashes, at the first row rewritten. Then it checks the chain head and, when given,
 * an anchor kept outside the database, which catches a truncated tail. Needs nothing but a JDBC
 * connection (and the keys), so it also runs when the operator does not.
 */
public final class AuditVerifier {

  private static final int CHUNK = 4_096;
  private static final ExecutorService CHECKERS =
      Executors.newCachedThreadPool(
          r -> {
            var thread = new Thread(r, "audit-verifier");
            thread.setDaemon(true);
            return thread;
          });

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
    var isolation = connection.getTransactionIsolation();
    // A cursor (fetch size) needs a transaction in pgjdbc; read-only, so it holds nothing; one
    // snapshot, so the rows, their seals and the checks before them agree while others append.
    connection.setAutoCommit(false);
    try {
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try {
        return walk(connection, keys, from, anchor, started);
      } finally {
        connection.rollback();
        connection.setTransactionIsolation(isolation);
      }
    } finally {
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
    long rows = 0;
    long expectedSeq = from == null ? 1 : from.seq() + 1;
    // From the first row: any row below 1 is read too, and reported (a row can only get there by
    // someone else's hand: the chain starts at 1).
    long readFrom = from == null ? Long.MIN_VALUE : expectedSeq;
    // Hashes as PostgreSQL sends them (lower-case hex, UTF-8), compared without decoding.
    var previousHash = from == null ? new byte[0] : utf8(from.hash());
    var anchorHash = anchor == null ? null : utf8(anchor.hash());
    var anchorSeen = from != null && anchor != null && anchor.seq() <= from.seq();
    // The links are checked here, in order, as rows arrive; their hashes and seals, which each row
    // holds on its own, are checked a chunk at a time on another thread while the next one is read.
    Future<Problem> checking = null;
    var chunk = new ArrayList<Link>(CHUNK);
    try (var chain = new ChainStream(connection, readFrom, keys.sealing())) {
      for (Link link; (link = chain.next()) != null; ) {
        rows++;
        var problem = linkProblem(link, expectedSeq, previousHash, anchor, anchorHash);
        if (problem != null) {
          // A row's own content is checked before its anchor, after its place in the chain.
          if (problem.anchor()) {
            chunk.add(link);
          }
          var earlier = firstOf(checking, chunk, keys);
          problem = earlier != null ? earlier : problem;
          return broken(rows, problem.seq(), problem.message(), started);
        }
        chunk.add(link);
        anchorSeen |= anchor != null && anchor.seq() == expectedSeq;
        previousHash = link.hash();
        expectedSeq++;
        if (chunk.size() == CHUNK) {
          var problemBefore = checking == null ? null : await(checking);
          if (problemBefore != null) {
            return broken(rows, problemBefore.seq(), problemBefore.message(), started);
          }
          var full = chunk;
          checking = CHECKERS.submit(() -> contentProblem(full, keys));
          chunk = new ArrayList<>(CHUNK);
        }
      }
    }
    var problem = firstOf(checking, chunk, keys);
    if (problem != null) {
      return broken(rows, problem.seq(), problem.message(), started);
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
    var head =
        lastSeq == 0
            ? null
            : new AuditAnchor(lastSeq, new String(previousHash, StandardCharsets.UTF_8));
    return new AuditVerification(true, rows, null, null, elapsedMillis(started), head);
  }

  /**
   * The rows from a seq on (a long, formatted in: COPY takes no parameters), each with its seals; a
   * row with two seals (while a key rotates) comes twice, the seals in key order.
   */
  private static final String SEALED_ROWS =
      "COPY (SELECT l.seq, l.at, l.actor, l.action, l.resource, l.tenant_id, l.before_hash,"
          + " l.after_hash, l.actor_groups, l.prev_hash, l.hash, s.key_id, s.mac"
          + " FROM public.audit_log l LEFT JOIN public.audit_seals s ON s.seq = l.seq"
          + " WHERE l.seq >= %d ORDER BY l.seq, s.key_id) TO STDOUT (FORMAT binary)";

  private static final String ROWS =
      "COPY (SELECT seq, at, actor, action, resource, tenant_id, before_hash, after_hash,"
          + " actor_groups, prev_hash, hash, NULL::text, NULL::text FROM public.audit_log"
          + " WHERE seq >= %d ORDER BY seq) TO STDOUT (FORMAT binary)";

  /** A seal: the key it was made with and the MAC (hex, as sent). */
  private record Seal(String keyId, byte[] mac) {}

  /**
   * The chain's rows in seq order, each with its seals, from one COPY in PostgreSQL's binary
   * format. The server writes while this thread reads (and another hashes): a cursor would have
   * each wait for the other at every fetch. Text columns stay the UTF-8 bytes sent.
   */
  private static final class ChainStream implements AutoCloseable {
    private static final byte[] SIGNATURE =
        "PGCOPY\n\377\r\n\0".getBytes(StandardCharsets.ISO_8859_1);
    // Binary timestamps count microseconds from 2000-01-01 UTC.
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
    private static final int FIELDS = 13;

    private final CopyOut copy;
    private final DataInputStream in;
    private Link pending; // read, not handed out: more of its seals may follow

    ChainStream(Connection connection, long readFrom, boolean sealed) throws SQLException {
      copy =
          connection
              .unwrap(PGConnection.class)
              .getCopyAPI()
              .copyOut((sealed ? SEALED_ROWS : ROWS).formatted(readFrom));
      in = new DataInputStream(new BufferedInputStream(new PGCopyInputStream(copy), 1 << 16));
      try {
        var signature = new byte[SIGNATURE.length];
        in.readFully(signature);
        if (!Arrays.equals(signature, SIGNATURE)) {
          throw new SQLException("PostgreSQL sent no binary COPY header");
        }
        in.readInt(); // flags: none defined that change the tuples
        in.skipNBytes(in.readInt()); // header extension
        pending = read();
      } catch (IOException e) {
        throw new SQLException("Could not read the audit chain: " + e.getMessage(), e);
      }
    }

    /** The next row, with all its seals; null after the last. */
    Link next() throws SQLException {
      try {
        var link = pending;
        pending = link == null ? null : read();
        while (pending != null && pending.seq() == link.seq()) {
          link.seals().addAll(pending.seals());
          pending = read();
        }
        return link;
      } catch (IOException e) {
        throw new SQLException("Could not read the audit chain: " + e.getMessage(), e);
      }
    }

    private Link read() throws IOException {
      var fields = in.readShort();
      if (fields == -1) {
        return null;
      }
      if (fields != FIELDS) {
        throw new IOException("a row of " + fields + " fields, not " + FIELDS);
      }
      var seq = number(field());
      var at = field();
      var columns = new byte[AuditCanonical.RowHasher.COLUMNS][];
      for (int i = 0; i < columns.length; i++) {
        columns[i] = field();
      }
      var prevHash = field();
      var hash = field();
      var keyId = field();
      var mac = field();
      var seals = new ArrayList<Seal>(1);
      if (keyId != null) {
        seals.add(new Seal(new String(keyId, StandardCharsets.UTF_8), mac));
      }
      // A time a superuser emptied cannot be what was hashed: it reads as altered.
      var atMicros = at == null ? Long.MIN_VALUE : number(at) + POSTGRES_EPOCH_MICROS;
      return new Link(seq, atMicros, columns, prevHash, hash, seals);
    }

    private byte[] field() throws IOException {
      var length = in.readInt();
      if (length == -1) {
        return null;
      }
      var value = new byte[length];
      in.readFully(value);
      return value;
    }

    private static long number(byte[] value) throws IOException {
      if (value == null || value.length != 8) {
        throw new IOException("a bigint or timestamptz that is not 8 bytes");
      }
      return java.nio.ByteBuffer.wrap(value).getLong();
    }

    /**
     * Reads what is left when the walk ends early (a break found), so the connection can go on: a
     * cancel request would race the statements after it. A broken chain takes as long to read as an
     * intact one.
     */
    @Override
    public void close() throws SQLException {
      while (copy.isActive()) {
        copy.readFromCopy();
      }
    }
  }

  /** Where the chain breaks, and how, in words; {@code anchor}: found against the anchor. */
  private record Problem(long seq, String message, boolean anchor) {
    Problem(long seq, String message) {
      this(seq, message, false);
    }
  }

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

  /**
   * A row of the chain as read, with its seals: its text columns (actor to actor_groups, then
   * prev_hash and hash) as the UTF-8 bytes PostgreSQL sent, so the reading thread decodes nothing.
   */
  private record Link(
      long seq, long atMicros, byte[][] columns, byte[] prevHash, byte[] hash, List<Seal> seals) {}

  /** Why {@code link} does not sit where it should in the chain, or null. */
  private static Problem linkProblem(
      Link link, long expectedSeq, byte[] previousHash, AuditAnchor anchor, byte[] anchorHash) {
    var seq = link.seq();
    if (seq < expectedSeq) {
      return new Problem(
          seq, "row " + seq + " does not belong in the chain, which starts at row 1");
    }
    if (seq != expectedSeq) {
      return new Problem(
          expectedSeq, "row " + expectedSeq + " is missing (next row is " + seq + ")");
    }
    if (!Arrays.equals(previousHash, link.prevHash())) {
      return new Problem(seq, "row " + seq + " does not link to row " + (seq - 1));
    }
    if (anchor != null && anchor.seq() == seq && !Arrays.equals(anchorHash, link.hash())) {
      return new Problem(
          seq,
          "row "
              + seq
              + " differs from the anchor kept outside the database: the chain was rewritten",
          true);
    }
    return null;
  }

  /** The first row of {@code links} whose content does not match its hash, or its seals. */
  private static Problem contentProblem(List<Link> links, AuditKeys keys) {
    var hasher = new AuditCanonical.RowHasher();
    var macs = keys.sealing() ? keys.macs() : null;
    for (var link : links) {
      if (link.prevHash() == null
          || !hasher.matches(
              link.seq(), link.atMicros(), link.columns(), link.prevHash(), link.hash())) {
        return new Problem(
            link.seq(), "row " + link.seq() + " was altered: its content does not match its hash");
      }
      if (macs != null) {
        var problem = sealProblem(link.seq(), link.hash(), link.seals(), macs, keys.sealedFrom());
        if (problem != null) {
          return problem;
        }
      }
    }
    return null;
  }

  /** The first problem of the chunk being checked, else of {@code rest} (checked here). */
  private static Problem firstOf(Future<Problem> checking, List<Link> rest, AuditKeys keys) {
    var problem = checking == null ? null : await(checking);
    return problem != null ? problem : contentProblem(rest, keys);
  }

  private static Problem await(Future<Problem> checking) {
    try {
      return checking.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while verifying the audit chain", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("Could not verify the audit chain", e.getCause());
    }
  }

  /**
   * Why the row is not sealed as it must be, or null: from {@code sealedFrom} on (rows before it
   * predate the keys and rest on the hash chain alone, which the first sealed row covers), one seal
   * under a live key must match. Other seals do not count: one that does not match beside one that
   * does was planted, and changes nothing the row says.
   */
  private static Problem sealProblem(
      long seq, byte[] hash, List<Seal> seals, AuditKeys.Macs macs, long sealedFrom) {
    if (seq < sealedFrom) {
      return null;
    }
    if (seals.isEmpty()) {
      return new Problem(
          seq,
          "row "
              + seq
              + " has no seal: it was not appended by the operator, or its seal was removed");
    }
    String mismatched = null;
    for (var seal : seals) {
      var matches = macs.matches(seal.keyId(), seq, hash, seal.mac());
      if (Boolean.TRUE.equals(matches)) {
        return null;
      }
      if (Boolean.FALSE.equals(matches)) {
        mismatched = seal.keyId();
      }
    }
    return mismatched != null
        ? new Problem(
            seq,
            "row "
                + seq
                + "'s seal under key "
                + mismatched
                + " does not match: the row was rewritten by someone without the audit key")
        : new Problem(
            seq,
            "row "
                + seq
                + " is sealed only under key(s) "
                + String.join(", ", seals.stream().map(Seal::keyId).toList())
                + ", none of them live: if one is a retired key, put it back in"
                + " robusto.audit.seal-keys until every row is re-sealed; if not, the seal was forged");
  }

  private static String hashAt(Connection connection, long seq) throws SQLException {
    try (var query =
        connection.prepareStatement("SELECT hash FROM public.audit_log WHERE seq = ?")) {
      query.setLong(1, seq);
      try (var rs = query.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static AuditVerification broken(long rows, long seq, String problem, long started) {
    return new AuditVerification(false, rows, seq, problem, elapsedMillis(started), null);
  }

  /** Microseconds since the epoch, as PostgreSQL keeps a timestamptz (read once per row). */
  static long epochMicros(OffsetDateTime at) {
    return Math.addExact(Math.multiplyExact(at.toEpochSecond(), 1_000_000L), at.getNano() / 1_000);
  }

  private static long elapsedMillis(long started) {
    return (System.nanoTime() - started) / 1_000_000;
  }
}
