package dev.robusto.audit;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Appends to the audit chain. Every insert holds the chain head's lock until it commits, so one
 * transaction per entry would cap throughput at one commit (one fsync) at a time. Instead callers
 * queue their entries and one writer commits whatever is queued in a single transaction (group
 * commit): {@link #append} returns only once its entry is durable, and a failed batch fails every
 * caller in it. With seal keys, each row is sealed ({@link AuditKeys}) in the transaction that
 * appends it, so no row of the operator's is ever unsealed.
 */
public final class AuditLog implements AutoCloseable {

  static final int MAX_BATCH = 1_000;
  private static final Logger LOG = Logger.getLogger(AuditLog.class);
  // One statement per batch, in queue order (the trigger numbers rows as they are inserted).
  private static final String INSERT =
      "INSERT INTO audit_log"
          + " (actor, action, resource, tenant_id, before_hash, after_hash, actor_groups)"
          + " SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],"
          + " ?::text[])"
          + " RETURNING seq, at, prev_hash, hash";
  private static final String SEAL =
      "INSERT INTO audit_seals (seq, key_id, mac) SELECT seq, ?, mac"
          + " FROM unnest(?::bigint[], ?::text[]) AS s(seq, mac)";

  /** Work that must commit with an appended row, or not at all: it is given the row's seq. */
  @FunctionalInterface
  public interface WithRow {
    void run(java.sql.Connection connection, long seq) throws SQLException;
  }

  /**
   * An entry waiting for its commit; {@code group}: the call it came with, when that call brought
   * work of its own (it commits apart from other callers' entries), else null.
   */
  private record Pending(
      AuditEntry entry, WithRow withRow, Object group, CompletableFuture<Void> durable) {}

  private final DataSource dataSource;
  private final AuditKeys keys;
  private final AuditKeys.Macs macs;
  private final java.security.MessageDigest sha256 = AuditCanonical.sha256(); // the writer's
  // The last row this log appended: the chain only grows, so a later row numbered at or below it
  // means rows were cut (and the operator would otherwise seal their replacements).
  private long lastAppended;
  private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread writer;
  private volatile boolean open = true;

  /** {@code keys}: the seal keys, or {@link AuditKeys#NONE} for an unsealed chain. */
  public AuditLog(DataSource dataSource, AuditKeys keys) {
    this.dataSource = dataSource;
    this.keys = keys;
    this.macs = keys.macs(); // used by the writer thread alone
    this.writer = new Thread(this::writeLoop, "audit-log-writer");
    writer.setDaemon(true);
    writer.start();
  }

  /** Appends an entry and waits until it is committed. */
  public void append(AuditEntry entry) {
    append(List.of(entry));
  }

  /**
   * Appends entries and waits until all are committed: one wait where a caller has several to
   * record, instead of one commit cycle each.
   */
  public void append(List<AuditEntry> entries) {
    append(entries, Duration.ofSeconds(30));
  }

  /** Appends entries and waits until all are committed, or fails after {@code timeout}. */
  public void append(List<AuditEntry> entries, Duration timeout) {
    appendWith(entries.stream().map(e -> new Append(e, null)).toList(), timeout);
  }

  /** An entry to append, and work to commit with its row or not at all (null: none). */
  public record Append(AuditEntry entry, WithRow withRow) {}

  /**
   * Appends entries and waits until all are committed, each with its work, run in the appending
   * transaction once the entry's row is numbered: a failure of that work fails (and rolls back) the
   * whole commit it was part of.
   */
  public void appendWith(List<Append> appends, Duration timeout) {
    if (!open) {
      throw new IllegalStateException("The audit log is closed");
    }
    var group = appends.stream().anyMatch(a -> a.withRow() != null) ? new Object() : null;
    var durable =
        appends.stream()
            .map(
                each -> {
                  var pending =
                      new Pending(each.entry(), each.withRow(), group, new CompletableFuture<>());
                  queue.add(pending);
                  return pending.durable();
                })
            .toArray(CompletableFuture[]::new);
    try {
      CompletableFuture.allOf(durable).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AuditException("Interrupted while appending to the audit log", e);
    } catch (Exception e) {
      throw new AuditException("Could not append to the audit log: " + rootMessage(e), e);
    }
  }

  private void writeLoop() {
    var drained = new ArrayList<Pending>(MAX_BATCH);
    while (open || !queue.isEmpty()) {
      try {
        var first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        drained.add(first);
        queue.drainTo(drained, MAX_BATCH - 1);
        // A call that brought work of its own commits apart: its failure fails only its entries.
        var groups = new java.util.LinkedHashMap<Object, List<Pending>>();
        var plain = new ArrayList<Pending>();
        for (var pending : drained) {
          if (pending.group() == null) {
            plain.add(pending);
          } else {
            groups.computeIfAbsent(pending.group(), g -> new ArrayList<>()).add(pending);
          }
        }
        if (!plain.isEmpty()) {
          commitOrFail(plain);
        }
        groups.values().forEach(this::commitOrFail);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } finally {
        drained.clear();
      }
    }
  }

  private void commitOrFail(List<Pending> batch) {
    try {
      commit(batch);
      batch.forEach(p -> p.durable().complete(null));
    } catch (SQLException | RuntimeException e) {
      LOG.errorf("Audit batch of %d entries failed: %s", batch.size(), e.getMessage());
      batch.forEach(p -> p.durable().completeExceptionally(e));
    }
  }

  private void commit(List<Pending> batch) throws SQLException {
    try (var connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      try (var insert = connection.prepareStatement(INSERT)) {
        var columns = new String[7][batch.size()];
        for (int i = 0; i < batch.size(); i++) {
          var e = batch.get(i).entry();
          columns[0][i] = e.actor();
          columns[1][i] = e.action();
          columns[2][i] = e.resource();
          columns[3][i] = e.tenantId();
          columns[4][i] = e.beforeHash();
          columns[5][i] = e.afterHash();
          columns[6][i] = e.actorGroups();
        }
        for (int c = 0; c < columns.length; c++) {
          insert.setArray(c + 1, connection.createArrayOf("text", columns[c]));
        }
        var appended = new ArrayList<AuditAnchor>(batch.size());
        try (var rows = insert.executeQuery()) {
          while (rows.next() && appended.size() < batch.size()) {
            var row = stored(batch.get(appended.size()).entry(), rows);
            var previous = appended.isEmpty() ? null : appended.get(appended.size() - 1);
            if (row.seq() <= lastAppended
                || previous != null
                    && (row.seq() != previous.seq() + 1
                        || !rows.getString(3).equals(previous.hash()))) {
              throw new AuditException(
                  ("PostgreSQL numbered audit row %d after row %d this log appended (or out of"
                          + " chain order): rows were removed or the trigger replaced; not sealing it")
                      .formatted(
                          row.seq(), Math.max(lastAppended, previous == null ? 0 : previous.seq())),
                  null);
            }
            appended.add(row);
          }
        }
        if (appended.size() != batch.size()) {
          throw new AuditException(
              "PostgreSQL stored %d of %d audit entries".formatted(appended.size(), batch.size()),
              null);
        }
        for (int i = 0; i < batch.size(); i++) {
          if (batch.get(i).withRow() != null) {
            batch.get(i).withRow().run(connection, appended.get(i).seq());
          }
        }
        if (keys.sealing()) {
          seal(connection, macs, appended);
        }
        connection.commit();
        lastAppended = appended.get(appended.size() - 1).seq();
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      }
    }
  }

  /**
   * The row PostgreSQL stored for {@code entry}, after checking that its hash is that of the entry
   * as given (at the seq, time and previous hash the chain's trigger gave it): a trigger replaced
   * to change what the operator appends would otherwise have the change sealed.
   */
  private AuditAnchor stored(AuditEntry entry, java.sql.ResultSet row) throws SQLException {
    var seq = row.getLong(1);
    var prevHash = row.getString(3);
    var hash = row.getString(4);
    var canonical =
        AuditCanonical.canonical(
            seq,
            AuditVerifier.epochMicros(row.getObject(2, java.time.OffsetDateTime.class)),
            entry);
    if (!AuditCanonical.chainHash(sha256, prevHash, canonical).equals(hash)) {
      throw new AuditException(
          "PostgreSQL stored audit row %d other than it was given (its hash is not the entry's);"
                  .formatted(seq)
              + " not sealing it: check the audit_log triggers",
          null);
    }
    return new AuditAnchor(seq, hash);
  }

  /** Seals {@code rows} (seq and chain hash) under the current key, in the caller's transaction. */
  public static void seal(
      java.sql.Connection connection, AuditKeys.Macs macs, List<AuditAnchor> rows)
      throws SQLException {
    var seqs = new Long[rows.size()];
    var seals = new String[rows.size()];
    for (int i = 0; i < seqs.length; i++) {
      var row = rows.get(i);
      seqs[i] = row.seq();
      seals[i] = macs.seal(row.seq(), row.hash());
    }
    try (var seal = connection.prepareStatement(SEAL)) {
      seal.setString(1, macs.keyId());
      seal.setArray(2, connection.createArrayOf("bigint", seqs));
      seal.setArray(3, connection.createArrayOf("text", seals));
      seal.executeUpdate();
    }
  }

  /**
   * Commits what is queued, for at most 2 s: with the database gone a shutdown must not wait on it.
   * Entries still queued then fail, so no caller takes them for committed.
   */
  @Override
  public void close() {
    open = false;
    try {
      writer.join(TimeUnit.SECONDS.toMillis(2));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (writer.isAlive()) {
      writer.interrupt();
      var left = new ArrayList<Pending>();
      queue.drainTo(left);
      var closed =
          new AuditException("The audit log closed before these entries were committed", null);
      left.forEach(p -> p.durable().completeExceptionally(closed));
    }
  }

  private static String rootMessage(Throwable e) {
    var cause = e;
    while (cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage();
  }
}
