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
   * The rows from a seq on (formatted in: COPY takes no parameters), each with its seals and its
   * tuple's identity (ctid): a row with two seals (while a key rotates) comes twice, one after the
   * other, and only copies of one tuple are merged, so a second row at a seq (its primary key
   * dropped) is read as a row of its own.
   */
  private static final String SEALED_ROWS =
      "COPY (SELECT l.ctid, l.seq, l.at, l.actor, l.action, l.resource, l.tenant_id,"
          + " l.before_hash, l.after_hash, l.actor_groups, l.prev_hash, l.hash, s.key_id, s.mac"
          + " FROM public.audit_log l LEFT JOIN public.audit_seals s ON s.seq = l.seq"
          + " WHERE l.seq >= %s ORDER BY l.seq, l.ctid, s.key_id) TO STDOUT (FORMAT binary)";

  private static final String ROWS =
      "COPY (SELECT ctid, seq, at, actor, action, resource, tenant_id, before_hash, after_hash,"
          + " actor_groups, prev_hash, hash, NULL::text, NULL::text FROM public.audit_log"
          + " WHERE seq >= %s ORDER BY seq, ctid) TO STDOUT (FORMAT binary)";

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
    // Binary timestamps count microseconds from 2000-01-01 UTC; these two are ±infinity.
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
    private static final long INFINITY = Long.MAX_VALUE;
    private static final long MINUS_INFINITY = Long.MIN_VALUE;
    // ctid, seq, at, the seven hashed columns, prev_hash, hash, key_id, mac.
    private static final int FIELDS = 14;
    private static final int ROW_FIELDS = 11; // seq to hash: what a seal's copy of a row repeats

    private final CopyOut copy;
    private final DataInputStream in;
    private boolean started;
    private Link pending; // read, not handed out: more of its seals may follow

    ChainStream(Connection connection, long readFrom, boolean sealed) throws SQLException {
      copy =
          connection
              .unwrap(PGConnection.class)
              .getCopyAPI()
              .copyOut((sealed ? SEALED_ROWS : ROWS).formatted(Long.toString(readFrom)));
      in = new DataInputStream(new BufferedInputStream(new PGCopyInputStream(copy), 1 << 16));
    }

    /** The next row, with all its seals; null after the last. */
    Link next() throws SQLException {
      try {
        if (!started) {
          started = true;
          header();
          readInto(null);
        }
        var link = pending;
        if (link == null) {
          return null;
        }
        while (readInto(link)) {
          // another seal of the same tuple, added to it
        }
        return link;
      } catch (IOException e) {
        throw new SQLException(
            "Could not read the audit chain ("
                + e.getMessage()
                + "): audit_log's columns are not the types the chain was written with",
            e);
      }
    }

    private void header() throws IOException {
      var signature = new byte[SIGNATURE.length];
      in.readFully(signature);
      if (!Arrays.equals(signature, SIGNATURE)) {
        throw new IOException("no binary COPY header");
      }
      // Bits 16-31 would change how rows are laid out (none is defined today): refuse, not guess.
      if ((in.readInt() >>> 16) != 0) {
        throw new IOException("a binary COPY with flags this verifier does not know");
      }
      in.skipNBytes(in.readInt()); // header extension
    }

    /**
     * Reads the next row of the COPY: true when it was another seal of {@code current}'s tuple,
     * added to it (its copy of the row skipped, not read); else it is the next link, now pending
     * (null at the end).
     */
    private boolean readInto(Link current) throws IOException {
      var fields = in.readShort();
      if (fields == -1) {
        pending = null;
        return false;
      }
      if (fields != FIELDS) {
        throw new IOException("a row of " + fields + " fields, not " + FIELDS);
      }
      var tuple = field();
      if (current != null && Arrays.equals(tuple, current.tuple())) {
        for (int i = 0; i < ROW_FIELDS; i++) {
          var length = in.readInt();
          if (length > 0) {
            in.skipNBytes(length);
          }
        }
        addSeal(current.seals(), field(), field());
        return true;
      }
      var seq = number(field(), "seq");
      var at = field();
      var columns = new byte[AuditCanonical.RowHasher.COLUMNS][];
      for (int i = 0; i < columns.length; i++) {
        columns[i] = field();
      }
      var prevHash = field();
      var hash = field();
      var seals = new ArrayList<Seal>(1);
      addSeal(seals, field(), field());
      pending = new Link(tuple, seq, epochMicros(at), columns, prevHash, hash, seals);
      return false;
    }

    private static void addSeal(List<Seal> seals, byte[] keyId, byte[] mac) {
      if (keyId != null) {
        seals.add(new Seal(new String(keyId, StandardCharsets.UTF_8), mac));
      }
    }

    /**
     * Microseconds since the Unix epoch; null for a time the chain's trigger can never have hashed
     * (NULL or ±infinity, set by someone else's hand), which then reads as altered.
     */
    private static Long epochMicros(byte[] at) throws IOException {
      if (at == null) {
        return null;
      }
      var micros = number(at, "at");
      return micros == INFINITY || micros == MINUS_INFINITY
          ? null
          : Math.addExact(micros, POSTGRES_EPOCH_MICROS);
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

    private static long number(byte[] value, String column) throws IOException {
      if (value == null || value.length != 8) {
        throw new IOException(
            column + " is " + (value == null ? "NULL" : value.length + " bytes") + ", not 8");
      }
      return java.nio.ByteBuffer.wrap(value).getLong();
    }

    /**
     * Reads what is left when the walk ends early (a break found, or an error), so the connection
     * can go on: a cancel request would race the statements after it. A broken chain takes as long
     * to read as an intact one.
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
   * A row of the chain as read, with its seals: its tuple's ctid, its time (null: one no append can
   * have hashed), its text columns (actor to actor_groups, then prev_hash and hash) as the UTF-8
   * bytes PostgreSQL sent, so the reading thread decodes nothing.
   */
  private record Link(
      byte[] tuple,
      long seq,
      Long atMicros,
      byte[][] columns,
      byte[] prevHash,
      byte[] hash,
      List<Seal> seals) {}

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
          || link.atMicros() == null
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
