package dev.robusto.audit;

import java.sql.SQLException;
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
 * caller in it.
 */
public final class AuditLog implements AutoCloseable {

  static final int MAX_BATCH = 1_000;
  private static final Logger LOG = Logger.getLogger(AuditLog.class);
  private static final String INSERT =
      "INSERT INTO audit_log (actor, action, resource, tenant_id, before_hash, after_hash)"
          + " VALUES (?, ?, ?, ?, ?, ?)";

  private record Pending(AuditEntry entry, CompletableFuture<Void> durable) {}

  private final DataSource dataSource;
  private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread writer;
  private volatile boolean open = true;

  public AuditLog(DataSource dataSource) {
    this.dataSource = dataSource;
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
    if (!open) {
      throw new IllegalStateException("The audit log is closed");
    }
    var durable =
        entries.stream()
            .map(
                entry -> {
                  var pending = new Pending(entry, new CompletableFuture<>());
                  queue.add(pending);
                  return pending.durable();
                })
            .toArray(CompletableFuture[]::new);
    try {
      CompletableFuture.allOf(durable).get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AuditException("Interrupted while appending to the audit log", e);
    } catch (Exception e) {
      throw new AuditException("Could not append to the audit log: " + rootMessage(e), e);
    }
  }

  private void writeLoop() {
    var batch = new ArrayList<Pending>(MAX_BATCH);
    while (open || !queue.isEmpty()) {
      try {
        var first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, MAX_BATCH - 1);
        commit(batch);
        batch.forEach(p -> p.durable().complete(null));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (SQLException | RuntimeException e) {
        LOG.errorf("Audit batch of %d entries failed: %s", batch.size(), e.getMessage());
        batch.forEach(p -> p.durable().completeExceptionally(e));
      } finally {
        batch.clear();
      }
    }
  }

  private void commit(List<Pending> batch) throws SQLException {
    try (var connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      try (var insert = connection.prepareStatement(INSERT)) {
        for (var pending : batch) {
          var e = pending.entry();
          insert.setString(1, e.actor());
          insert.setString(2, e.action());
          insert.setString(3, e.resource());
          insert.setString(4, e.tenantId());
          insert.setString(5, e.beforeHash());
          insert.setString(6, e.afterHash());
          insert.addBatch();
        }
        insert.executeBatch();
        connection.commit();
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      }
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
