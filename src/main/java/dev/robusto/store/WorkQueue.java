package dev.robusto.store;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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

  /**
   * A claimed item; {@code token} fences every write about this claim. {@code maxAttempts} is its
   * batch's, so a fleet worker serving several batches retries each as its batch says.
   */
  public record Claim(
      long itemId, String key, String payloadJson, UUID token, int attempts, int maxAttempts) {}

  /** One attempt of a fleet worker, for its revision's error rate and latency. */
  public record Attempt(boolean failed, long durationMillis) {}

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
    FAILED,
    DEAD_LETTERED,
    FENCED
  }

  /** A batch's items by state; held ones wait for the daily quota. */
  public record Counts(
      long held, long pending, long running, long succeeded, long failed, long deadLettered) {

    static Counts of(java.util.Map<String, Long> byState) {
      return new Counts(
          byState.getOrDefault("held", 0L),
          byState.getOrDefault("pending", 0L),
          byState.getOrDefault("running", 0L),
          byState.getOrDefault("succeeded", 0L),
          byState.getOrDefault("failed", 0L),
          byState.getOrDefault("dead_lettered", 0L));
    }

    public long total() {
      return held + pending + running + succeeded + failed + deadLettered;
    }

    /** Items still to be processed (admitted, not finished). */
    public long live() {
      return pending + running;
    }

    public long finished() {
      return succeeded + failed + deadLettered;
    }
  }

  private static final String LEASE_EXPIRED =
      "'lease of attempt ' || attempts || ' expired: the worker died or stopped heartbeating'";

  private final DataSource dataSource;

  public WorkQueue(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Adds items as held (waiting for the daily quota, see {@link DailyLedger#admit}). A key the
   * tenant already submitted (queued, finished, or succeeded in a batch since deleted) is skipped:
   * the key is registered in automation_item_keys in the same statement, so two concurrent
   * submissions of one ticket queue it once. Returns how many items were new.
   */
  public int enqueue(UUID batchId, String tenantId, String priority, List<NewItem> items)
      throws SQLException {
    try (var c = dataSource.getConnection();
        var insert =
            c.prepareStatement(
                "WITH given AS (SELECT * FROM unnest(?::text[], ?::text[]) AS g(key, payload)),"
                    + " fresh AS (INSERT INTO automation_item_keys (tenant_id, idempotency_key, batch_id)"
                    + " SELECT ?, key, ? FROM given ON CONFLICT DO NOTHING RETURNING idempotency_key)"
                    + " INSERT INTO automation_items (batch_id, tenant_id, idempotency_key, payload,"
                    + " priority, state) SELECT ?, ?, g.key, g.payload::jsonb, ?, 'held'"
                    + " FROM given g JOIN fresh f ON f.idempotency_key = g.key")) {
      var unique = new java.util.LinkedHashMap<String, String>();
      items.forEach(item -> unique.putIfAbsent(item.key(), item.payloadJson()));
      insert.setArray(1, c.createArrayOf("text", unique.keySet().toArray()));
      insert.setArray(2, c.createArrayOf("text", unique.values().toArray()));
      insert.setString(3, tenantId);
      insert.setObject(4, batchId);
      insert.setObject(5, batchId);
      insert.setString(6, tenantId);
      insert.setString(7, priority);
      return insert.executeUpdate();
    }
  }

  /** Claims up to {@code limit} due items of a batch, most urgent and oldest first. */
  public List<Claim> claim(UUID batchId, String worker, int limit, Duration lease)
      throws SQLException {
    return claim("batch_id = ?", batchId, worker, limit, lease);
  }

  /**
   * Claims up to {@code limit} due items of the batches handed to a deployment's fleet (of the
   * caller's tenant: row-level security sees to that), most urgent and oldest first.
   */
  public List<Claim> claimForDeployment(String deployment, String worker, int limit, Duration lease)
      throws SQLException {
    return claim(OF_DEPLOYMENT, deployment, worker, limit, lease);
  }

  private static final String OF_DEPLOYMENT =
      "batch_id IN (SELECT batch_id FROM automation_batches WHERE deployment = ?)";

  private List<Claim> claim(
      String whichBatches, Object batches, String worker, int limit, Duration lease)
      throws SQLException {
    try (var c = dataSource.getConnection();
        var relaxed = c.createStatement();
        var claim =
            c.prepareStatement(
                "WITH next AS (SELECT item_id FROM automation_items WHERE "
                    + whichBatches
                    + " AND state = 'pending' AND next_attempt_at <= now()"
                    + " ORDER BY priority_rank, next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)"
                    + " UPDATE automation_items i SET state = 'running', lease_owner = ?,"
                    + " lease_expires_at = now() + ? * interval '1 millisecond',"
                    + " claim_token = gen_random_uuid(), attempts = attempts + 1, updated_at = now()"
                    + " FROM next WHERE i.item_id = next.item_id"
                    + " RETURNING i.item_id, i.idempotency_key, i.payload::text, i.claim_token,"
                    + " i.attempts, (SELECT b.max_attempts FROM automation_batches b"
                    + " WHERE b.batch_id = i.batch_id)")) {
      c.setAutoCommit(false);
      relaxed.execute("SET LOCAL synchronous_commit = off");
      claim.setObject(1, batches);
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
                  rs.getInt(5),
                  rs.getInt(6)));
        }
      }
      c.commit();
      return claims;
    }
  }

  /** Extends the lease; false when the claim was lost (the worker must stop and not record). */
  public boolean heartbeat(Claim claim, Duration lease) throws SQLException {
    return !heartbeatAll(List.of(claim), lease).isEmpty();
  }

  /** Extends the leases of several claims at once; returns the ids still held. */
  public Set<Long> heartbeatAll(List<Claim> claims, Duration lease) throws SQLException {
    return fenced(
        "UPDATE automation_items i SET lease_expires_at = now() + ? * interval '1 millisecond'",
        claims,
        lease.toMillis());
  }

  /**
   * Puts claimed items back unattempted (the worker is stopping, or the endpoint's circuit is
   * open): the attempt is given back and the item is due again after {@code delay}.
   */
  public Set<Long> release(List<Claim> claims, Duration delay) throws SQLException {
    return fenced(
        "UPDATE automation_items i SET state = 'pending', attempts = i.attempts - 1,"
            + " next_attempt_at = now() + ? * interval '1 millisecond', updated_at = now(),"
            + " lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL",
        claims,
        delay.toMillis());
  }

  /** Records success once; false when fenced (another claim owns the item now). */
  public boolean succeed(Claim claim) throws SQLException {
    return !finish(List.of(claim), "succeeded", null).isEmpty();
  }

  /**
   * Records the success of several claims in one statement and one commit (one fsync for the lot);
   * returns the ids recorded. A fenced claim is simply not among them.
   */
  public Set<Long> succeedAll(List<Claim> claims) throws SQLException {
    return finish(claims, "succeeded", null);
  }

  /**
   * Records a failed attempt: a permanent one fails the item for good; otherwise it is retried
   * after a backoff, or dead-lettered after the batch's last attempt, with the error kept.
   */
  public FailureOutcome fail(Claim claim, String error, boolean permanent, Retry retry)
      throws SQLException {
    if (permanent || claim.attempts() >= retry.maxAttempts()) {
      var state = permanent ? "failed" : "dead_lettered";
      if (finish(List.of(claim), state, error).isEmpty()) {
        return FailureOutcome.FENCED;
      }
      return permanent ? FailureOutcome.FAILED : FailureOutcome.DEAD_LETTERED;
    }
    try (var c = dataSource.getConnection();
        var update =
            c.prepareStatement(
                "UPDATE automation_items SET state = 'pending', updated_at = now(), last_error = ?,"
                    + " next_attempt_at = now() + ? * interval '1 millisecond', lease_owner = NULL,"
                    + " lease_expires_at = NULL, claim_token = NULL"
                    + " WHERE item_id = ? AND claim_token = ? AND state = 'running'")) {
      update.setString(1, error);
      update.setLong(2, retry.delayAfter(claim.attempts()).toMillis());
      update.setLong(3, claim.itemId());
      update.setObject(4, claim.token());
      return update.executeUpdate() == 0 ? FailureOutcome.FENCED : FailureOutcome.RETRY_SCHEDULED;
    }
  }

  /**
   * Returns a batch's items whose lease expired (their worker died or hung) to the queue, or
   * dead-letters those that used the batch's last attempt. Returns how many were rescued.
   */
  public int rescueExpired(UUID batchId) throws SQLException {
    return rescueExpired("i.batch_id = ?", batchId);
  }

  /** {@link #rescueExpired(UUID)} for the batches handed to a deployment's fleet. */
  public int rescueExpiredForDeployment(String deployment) throws SQLException {
    return rescueExpired("i." + OF_DEPLOYMENT, deployment);
  }

  /**
   * Records a fleet worker's attempts (one statement, committed without waiting for the WAL flush:
   * these are figures, and a crash losing the last few changes no verdict).
   */
  public void recordAttempts(
      String tenantId, String deployment, int revision, List<Attempt> attempts)
      throws SQLException {
    if (attempts.isEmpty()) {
      return;
    }
    try (var c = dataSource.getConnection();
        var relaxed = c.createStatement();
        var insert =
            c.prepareStatement(
                "INSERT INTO automation_attempts (tenant_id, deployment, revision, failed,"
                    + " duration_ms) SELECT ?, ?, ?, f, d FROM unnest(?::boolean[], ?::integer[])"
                    + " AS a(f, d)")) {
      c.setAutoCommit(false);
      relaxed.execute("SET LOCAL synchronous_commit = off");
      insert.setString(1, tenantId);
      insert.setString(2, deployment);
      insert.setInt(3, revision);
      insert.setArray(
          4, c.createArrayOf("boolean", attempts.stream().map(Attempt::failed).toArray()));
      insert.setArray(
          5,
          c.createArrayOf(
              "integer",
              attempts.stream()
                  .map(a -> (int) Math.min(Integer.MAX_VALUE, a.durationMillis()))
                  .toArray()));
      insert.executeUpdate();
      c.commit();
    }
  }

  private int rescueExpired(String whichItems, Object batches) throws SQLException {
    try (var c = dataSource.getConnection();
        var rescue =
            c.prepareStatement(
                "WITH expired AS (SELECT i.item_id, i.attempts >= b.max_attempts AS last"
                    + " FROM automation_items i JOIN automation_batches b USING (batch_id)"
                    + " WHERE "
                    + whichItems
                    + " AND i.state = 'running' AND i.lease_expires_at < now()"
                    + " FOR UPDATE OF i SKIP LOCKED),"
                    + " dead AS (DELETE FROM automation_items i USING expired e"
                    + " WHERE i.item_id = e.item_id AND e.last RETURNING i.*),"
                    + " buried AS (INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id,"
                    + " idempotency_key, payload, state, attempts, last_error, created_at)"
                    + " SELECT item_id, batch_id, tenant_id, idempotency_key, payload, 'dead_lettered',"
                    + " attempts, "
                    + LEASE_EXPIRED
                    + ", created_at FROM dead RETURNING 1),"
                    + " back AS (UPDATE automation_items i SET state = 'pending', updated_at = now(),"
                    + " lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL,"
                    + " last_error = "
                    + LEASE_EXPIRED
                    + " FROM expired e WHERE i.item_id = e.item_id AND NOT e.last RETURNING 1)"
                    + " SELECT (SELECT count(*) FROM buried) + (SELECT count(*) FROM back)")) {
      rescue.setObject(1, batches);
      try (var rs = rescue.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /** How a batch's items stand, live and finished. */
  public Counts counts(UUID batchId) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT state, count(*) FROM automation_items WHERE batch_id = ? GROUP BY state"
                    + " UNION ALL SELECT state, count(*) FROM automation_item_outcomes"
                    + " WHERE batch_id = ? GROUP BY state")) {
      query.setObject(1, batchId);
      query.setObject(2, batchId);
      var byState = new java.util.HashMap<String, Long>();
      try (var rs = query.executeQuery()) {
        while (rs.next()) {
          byState.put(rs.getString(1), rs.getLong(2));
        }
      }
      return Counts.of(byState);
    }
  }

  /** Moves fenced claims out of the queue with their final state; returns the ids moved. */
  private Set<Long> finish(List<Claim> claims, String state, String error) throws SQLException {
    try (var c = dataSource.getConnection();
        var move =
            c.prepareStatement(
                "WITH done AS (DELETE FROM automation_items i"
                    + " USING unnest(?::bigint[], ?::uuid[]) AS d(item_id, token)"
                    + " WHERE i.item_id = d.item_id AND i.claim_token = d.token"
                    + " AND i.state = 'running' RETURNING i.*)"
                    + " INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id,"
                    + " idempotency_key, payload, state, attempts, last_error, created_at)"
                    + " SELECT item_id, batch_id, tenant_id, idempotency_key, payload, ?, attempts, ?,"
                    + " created_at FROM done RETURNING item_id")) {
      move.setArray(1, c.createArrayOf("bigint", claims.stream().map(Claim::itemId).toArray()));
      move.setArray(2, c.createArrayOf("uuid", claims.stream().map(Claim::token).toArray()));
      move.setString(3, state);
      move.setString(4, error);
      var moved = new HashSet<Long>();
      try (var rs = move.executeQuery()) {
        while (rs.next()) {
          moved.add(rs.getLong(1));
        }
      }
      return moved;
    }
  }

  /** Runs an update on the claims still held with their token; returns the ids updated. */
  private Set<Long> fenced(String update, List<Claim> claims, long millis) throws SQLException {
    try (var c = dataSource.getConnection();
        var statement =
            c.prepareStatement(
                update
                    + " FROM unnest(?::bigint[], ?::uuid[]) AS d(item_id, token)"
                    + " WHERE i.item_id = d.item_id AND i.claim_token = d.token"
                    + " AND i.state = 'running' RETURNING i.item_id")) {
      statement.setLong(1, millis);
      statement.setArray(
          2, c.createArrayOf("bigint", claims.stream().map(Claim::itemId).toArray()));
      statement.setArray(3, c.createArrayOf("uuid", claims.stream().map(Claim::token).toArray()));
      var updated = new HashSet<Long>();
      try (var rs = statement.executeQuery()) {
        while (rs.next()) {
          updated.add(rs.getLong(1));
        }
      }
      return updated;
    }
  }
}
