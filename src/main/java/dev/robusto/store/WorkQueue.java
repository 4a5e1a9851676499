package dev.robusto.store;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;

/**
 * The ticket queue in automation_items. Items are claimed with FOR UPDATE SKIP LOCKED under a
 * lease; each claim gets a fresh token, and an outcome is recorded only with the token of the
 * current claim (fencing). A worker whose lease expired, and whose item was rescued and claimed by
 * another, can neither record a result nor cause a second one. Processing is at-least-once (hence
 * the Idempotency-Key the http processor sends); the recorded outcome is exactly-once.
 *
 * <p>Claims and heartbeats commit without waiting for the WAL flush: one lost in a database crash
 * leaves its item pending, to be claimed again, which at-least-once processing already allows.
 * Outcomes (success, failure, dead letter) are always durable before they are reported.
 */
public final class WorkQueue {

  /** An item to enqueue: its idempotency key and JSON payload. */
  public record NewItem(String key, String payloadJson) {}

  /** A claimed item; {@code token} fences every write about this claim. */
  public record Claim(long itemId, String key, String payloadJson, UUID token, int attempts) {}

  /** How a failed attempt is retried: exponential backoff with full jitter, then dead letter. */
  public record Retry(int maxAttempts, Duration initial, Duration max, double multiplier) {

    Duration delayAfter(int attempts) {
      var exponential = initial.toMillis() * Math.pow(multiplier, Math.max(0, attempts - 1));
      var capped = Math.min(exponential, max.toMillis());
      return Duration.ofMillis(ThreadLocalRandom.current().nextLong((long) capped + 1));
    }
  }

  /** What became of a failure report. */
  public enum FailureOutcome {
    RETRY_SCHEDULED,
    DEAD_LETTERED,
    FENCED
  }

  private final DataSource dataSource;

  public WorkQueue(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** Adds items; an item whose key the tenant already has is skipped. Returns how many were new. */
  public int enqueue(UUID batchId, String tenantId, String priority, List<NewItem> items)
      throws SQLException {
    try (var c = dataSource.getConnection();
        var insert =
            c.prepareStatement(
                "INSERT INTO automation_items (batch_id, tenant_id, idempotency_key, payload, priority)"
                    + " VALUES (?, ?, ?, ?::jsonb, ?) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING")) {
      for (var item : items) {
        insert.setObject(1, batchId);
        insert.setString(2, tenantId);
        insert.setString(3, item.key());
        insert.setString(4, item.payloadJson());
        insert.setString(5, priority);
        insert.addBatch();
      }
      var inserted = 0;
      for (var count : insert.executeBatch()) {
        inserted += Math.max(count, 0);
      }
      return inserted;
    }
  }

  /** Claims up to {@code limit} due items of a batch, most urgent and oldest first. */
  public List<Claim> claim(UUID batchId, String worker, int limit, Duration lease)
      throws SQLException {
    try (var c = dataSource.getConnection();
        var relaxed = c.createStatement();
        var claim =
            c.prepareStatement(
                "WITH next AS (SELECT item_id FROM automation_items"
                    + " WHERE batch_id = ? AND state = 'pending' AND next_attempt_at <= now()"
                    + " ORDER BY priority_rank, next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)"
                    + " UPDATE automation_items i SET state = 'running', lease_owner = ?,"
                    + " lease_expires_at = now() + ? * interval '1 millisecond',"
                    + " claim_token = gen_random_uuid(), attempts = attempts + 1, updated_at = now()"
                    + " FROM next WHERE i.item_id = next.item_id"
                    + " RETURNING i.item_id, i.idempotency_key, i.payload::text, i.claim_token, i.attempts")) {
      c.setAutoCommit(false);
      relaxed.execute("SET LOCAL synchronous_commit = off");
      claim.setObject(1, batchId);
      claim.setInt(2, limit);
      claim.setString(3, worker);
      claim.setLong(4, lease.toMillis());
      var claims = new ArrayList<Claim>();
      try (var rs = claim.executeQuery()) {
        while (rs.next()) {
          claims.add(
              new Claim(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getObject(4, UUID.class),
                  rs.getInt(5)));
        }
      }
      c.commit();
      return claims;
    }
  }

  /** Extends the lease; false when the claim was lost (the worker must stop and not record). */
  public boolean heartbeat(Claim claim, Duration lease) throws SQLException {
    return fenced(
        "UPDATE automation_items SET lease_expires_at = now() + ? * interval '1 millisecond'"
            + " WHERE item_id = ? AND claim_token = ? AND state = 'running'",
        lease.toMillis(),
        claim);
  }

  /** Records success once; false when fenced (another claim owns the item now). */
  public boolean succeed(Claim claim) throws SQLException {
    return fenced(
        "UPDATE automation_items SET state = 'succeeded', finished_at = now(), updated_at = now(),"
            + " lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL, last_error = NULL"
            + " WHERE item_id = ? AND claim_token = ? AND state = 'running'",
        null,
        claim);
  }

  /**
   * Records the success of several claims in one statement and one commit (one fsync for the lot);
   * returns the ids recorded. A fenced claim is simply not among them.
   */
  public java.util.Set<Long> succeedAll(List<Claim> claims) throws SQLException {
    try (var c = dataSource.getConnection();
        var update =
            c.prepareStatement(
                "UPDATE automation_items i SET state = 'succeeded', finished_at = now(),"
                    + " updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,"
                    + " claim_token = NULL, last_error = NULL"
                    + " FROM unnest(?::bigint[], ?::uuid[]) AS done(item_id, token)"
                    + " WHERE i.item_id = done.item_id AND i.claim_token = done.token"
                    + " AND i.state = 'running' RETURNING i.item_id")) {
      update.setArray(1, c.createArrayOf("bigint", claims.stream().map(Claim::itemId).toArray()));
      update.setArray(2, c.createArrayOf("uuid", claims.stream().map(Claim::token).toArray()));
      var recorded = new java.util.HashSet<Long>();
      try (var rs = update.executeQuery()) {
        while (rs.next()) {
          recorded.add(rs.getLong(1));
        }
      }
      return recorded;
    }
  }

  /** Records a failed attempt: retried after a backoff, or dead-lettered after the last one. */
  public FailureOutcome fail(Claim claim, String error, boolean permanent, Retry retry)
      throws SQLException {
    var deadLetter = permanent || claim.attempts() >= retry.maxAttempts();
    try (var c = dataSource.getConnection();
        var update =
            c.prepareStatement(
                deadLetter
                    ? "UPDATE automation_items SET state = 'dead_lettered', finished_at = now(),"
                        + " updated_at = now(), last_error = ?, lease_owner = NULL,"
                        + " lease_expires_at = NULL, claim_token = NULL"
                        + " WHERE item_id = ? AND claim_token = ? AND state = 'running'"
                    : "UPDATE automation_items SET state = 'pending', updated_at = now(), last_error = ?,"
                        + " next_attempt_at = now() + ? * interval '1 millisecond', lease_owner = NULL,"
                        + " lease_expires_at = NULL, claim_token = NULL"
                        + " WHERE item_id = ? AND claim_token = ? AND state = 'running'")) {
      var i = 1;
      update.setString(i++, error);
      if (!deadLetter) {
        update.setLong(i++, retry.delayAfter(claim.attempts()).toMillis());
      }
      update.setLong(i++, claim.itemId());
      update.setObject(i, claim.token());
      if (update.executeUpdate() == 0) {
        return FailureOutcome.FENCED;
      }
      return deadLetter ? FailureOutcome.DEAD_LETTERED : FailureOutcome.RETRY_SCHEDULED;
    }
  }

  /**
   * Returns items whose lease expired (their worker died or hung) to the queue, or dead-letters
   * those that used their last attempt. Returns how many were rescued.
   */
  public int rescueExpired(int maxAttempts) throws SQLException {
    try (var c = dataSource.getConnection();
        var rescue =
            c.prepareStatement(
                "UPDATE automation_items SET updated_at = now(), lease_owner = NULL,"
                    + " lease_expires_at = NULL, claim_token = NULL,"
                    + " last_error = coalesce(last_error, 'lease expired'),"
                    + " state = CASE WHEN attempts >= ? THEN 'dead_lettered' ELSE 'pending' END,"
                    + " finished_at = CASE WHEN attempts >= ? THEN now() END"
                    + " WHERE state = 'running' AND lease_expires_at < now()")) {
      rescue.setInt(1, maxAttempts);
      rescue.setInt(2, maxAttempts);
      return rescue.executeUpdate();
    }
  }

  private boolean fenced(String sql, Long leaseMillis, Claim claim) throws SQLException {
    try (var c = dataSource.getConnection();
        var update = c.prepareStatement(sql)) {
      var i = 1;
      if (leaseMillis != null) {
        update.setLong(i++, leaseMillis);
      }
      update.setLong(i++, claim.itemId());
      update.setObject(i, claim.token());
      return update.executeUpdate() == 1;
    }
  }
}
