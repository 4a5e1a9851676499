package dev.robusto.queue;

import dev.robusto.batch.DailyLedger;
import dev.robusto.operator.Sql;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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
 * <p>Two sides use it. The operator, with its own role, enqueues and reads progress. A worker, with
 * its tenant's role, does everything else through the robusto_worker_* functions
 * (V6__worker_functions.sql), the only thing a tenant's role may use: they take the tenant from the
 * role, fence every write by claim token and bound every count, lease and delay.
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

  /**
   * One attempt at a claimed ticket, as its worker measured it: for the ticket's steps, the
   * attempt-latency histogram and, of a fleet worker, its revision's error rate and latency.
   */
  public record Attempt(
      Claim claim, java.time.Instant startedAt, long durationMillis, Step step, String detail) {
    public boolean failed() {
      return step != Step.SUCCEEDED;
    }
  }

  /** How an attempt ended: the ticket's outcome is the database's to decide from it. */
  public enum Step {
    SUCCEEDED,
    /** Failed; retried or dead-lettered as the batch's attempts allow. */
    FAILED,
    /** The portal refused the ticket for good. */
    REFUSED
  }

  /**
   * How long a failed attempt waits before the next: exponential backoff with full jitter. When the
   * attempts run out is the batch's to say (max_attempts), and the database's to count.
   */
  public record Retry(Duration initial, Duration max, double multiplier) {

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

  /**
   * A batch's items by state; held ones wait for the daily quota, cancelled ones were taken out of
   * the queue before a worker claimed them. {@code redriven}: dead letters requeued so far (their
   * tickets are counted again by their new state, not in the total).
   */
  public record Counts(
      long held,
      long pending,
      long running,
      long succeeded,
      long failed,
      long deadLettered,
      long cancelled,
      long redriven) {

    public Counts(
        long held, long pending, long running, long succeeded, long failed, long deadLettered) {
      this(held, pending, running, succeeded, failed, deadLettered, 0, 0);
    }

    public static Counts of(Map<String, Long> byState) {
      return new Counts(
          byState.getOrDefault("held", 0L),
          byState.getOrDefault("pending", 0L),
          byState.getOrDefault("running", 0L),
          byState.getOrDefault("succeeded", 0L),
          byState.getOrDefault("failed", 0L),
          byState.getOrDefault("dead_lettered", 0L),
          byState.getOrDefault("cancelled", 0L),
          byState.getOrDefault("redriven", 0L));
    }

    public long total() {
      return held + pending + running + succeeded + failed + deadLettered + cancelled;
    }

    /** Items still to be processed (admitted, not finished). */
    public long live() {
      return pending + running;
    }

    public long finished() {
      return succeeded + failed + deadLettered + cancelled;
    }
  }

  private final DataSource dataSource;
  private final Sql sql;

  public WorkQueue(DataSource dataSource) {
    this.dataSource = dataSource;
    this.sql = new Sql(dataSource);
  }

  /**
   * Adds items as held (waiting for the daily quota, see {@link DailyLedger#admit}). A key the
   * tenant already submitted (queued, finished, or succeeded in a batch since deleted) is skipped:
   * the key is registered in automation_item_keys in the same statement, so two concurrent
   * submissions of one ticket queue it once. Returns how many items were new.
   */
  public int enqueue(UUID batchId, String tenantId, String priority, List<NewItem> items)
      throws SQLException {
    var unique = new java.util.LinkedHashMap<String, String>();
    items.forEach(item -> unique.putIfAbsent(item.key(), item.payloadJson()));
    return sql.update(
        """
        WITH given AS (SELECT * FROM unnest(?::text[], ?::text[]) AS g(key, payload)),
        fresh AS (INSERT INTO automation_item_keys (tenant_id, idempotency_key, batch_id)
          SELECT ?, key, ? FROM given ON CONFLICT DO NOTHING RETURNING idempotency_key)
        INSERT INTO automation_items (batch_id, tenant_id, idempotency_key, payload,
          priority, state) SELECT ?, ?, g.key, g.payload::jsonb, ?, 'held'
        FROM given g JOIN fresh f ON f.idempotency_key = g.key
        """,
        Sql.array("text", unique.keySet().toArray()),
        Sql.array("text", unique.values().toArray()),
        tenantId,
        batchId,
        batchId,
        tenantId,
        priority);
  }

  /** Claims up to {@code limit} due items of a batch, most urgent and oldest first. */
  public List<Claim> claim(UUID batchId, String worker, int limit, Duration lease)
      throws SQLException {
    return claim(batchId, null, worker, limit, lease);
  }

  /**
   * Claims up to {@code limit} due items of the batches handed to a deployment's fleet (of the
   * caller's tenant: the function sees to that), most urgent and oldest first.
   */
  public List<Claim> claimForDeployment(String deployment, String worker, int limit, Duration lease)
      throws SQLException {
    return claim(null, deployment, worker, limit, lease);
  }

  private List<Claim> claim(
      UUID batchId, String deployment, String worker, int limit, Duration lease)
      throws SQLException {
    try (var c = dataSource.getConnection();
        var relaxed = c.createStatement()) {
      c.setAutoCommit(false);
      relaxed.execute("SET LOCAL synchronous_commit = off");
      var claims =
          Sql.list(
              c,
              """
              SELECT * FROM robusto_worker_claim(?, ?, ?, ?, ?)
              """,
              rs ->
                  new Claim(
                      rs.getLong(1),
                      rs.getString(2),
                      rs.getString(3),
                      rs.getObject(4, UUID.class),
                      rs.getInt(5)),
              Sql.orNull(batchId, Types.OTHER),
              deployment,
              worker,
              limit,
              lease.toMillis());
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
        """
        SELECT * FROM robusto_worker_heartbeat(?, ?, ?)
        """,
        claims,
        lease.toMillis());
  }

  /**
   * Puts claimed items back unattempted (the worker is stopping, or the endpoint's circuit is
   * open): the attempt is given back and the item is due again after {@code delay}.
   */
  public Set<Long> release(List<Claim> claims, Duration delay) throws SQLException {
    return fenced(
        """
        SELECT * FROM robusto_worker_release(?, ?, ?)
        """,
        claims,
        delay.toMillis());
  }

  /** Records success once; false when fenced (another claim owns the item now). */
  public boolean succeed(Claim claim) throws SQLException {
    return !succeedAll(List.of(claim)).isEmpty();
  }

  /**
   * Records the success of several claims in one statement and one commit (one fsync for the lot);
   * returns the ids recorded. A fenced claim is simply not among them.
   */
  public Set<Long> succeedAll(List<Claim> claims) throws SQLException {
    return new HashSet<>(
        sql.list(
            """
            SELECT * FROM robusto_worker_succeed(?, ?)
            """,
            rs -> rs.getLong(1),
            Sql.array("bigint", ids(claims)),
            Sql.array("uuid", tokens(claims))));
  }

  /**
   * Records a failed attempt: a permanent one fails the item for good; otherwise it is retried
   * after a backoff, or dead-lettered after its batch's last attempt (the database counts), with
   * the error kept.
   */
  public FailureOutcome fail(Claim claim, String error, boolean permanent, Retry retry)
      throws SQLException {
    return sql.one(
            """
            SELECT robusto_worker_fail(?, ?, ?, ?, ?)
            """,
            rs -> FailureOutcome.valueOf(rs.getString(1).toUpperCase(java.util.Locale.ROOT)),
            claim.itemId(),
            claim.token(),
            error,
            permanent,
            retry.delayAfter(claim.attempts()).toMillis())
        .orElseThrow();
  }

  /**
   * Returns a batch's items whose lease expired (their worker died or hung) to the queue, or
   * dead-letters those that used the batch's last attempt. Returns how many were rescued.
   */
  public int rescueExpired(UUID batchId) throws SQLException {
    return rescueExpired(batchId, null);
  }

  /** {@link #rescueExpired(UUID)} for the batches handed to a deployment's fleet. */
  public int rescueExpiredForDeployment(String deployment) throws SQLException {
    return rescueExpired(null, deployment);
  }

  /**
   * Records a worker's attempts: each as a step of its ticket, and for the attempt-latency
   * histogram and, of a fleet's revision ({@code deployment} and {@code revision} given, else both
   * null), one by one for canary analysis. One transaction, committed without waiting for the WAL
   * flush: these are figures and history, and a crash losing the last few changes no outcome.
   */
  public void recordAttempts(String deployment, Integer revision, List<Attempt> attempts)
      throws SQLException {
    if (attempts.isEmpty()) {
      return;
    }
    var durations =
        Sql.array(
            "integer",
            attempts.stream()
                .map(a -> (int) Math.min(Integer.MAX_VALUE, a.durationMillis()))
                .toArray());
    try (var c = dataSource.getConnection();
        var relaxed = c.createStatement()) {
      c.setAutoCommit(false);
      relaxed.execute("SET LOCAL synchronous_commit = off");
      Sql.execute(
          c,
          """
          SELECT robusto_worker_record_attempts(?, ?, ?, ?),
                 robusto_worker_record_steps(?, ?, ?, ?, ?, ?)
          """,
          deployment,
          Sql.orNull(revision, Types.INTEGER),
          Sql.array("boolean", attempts.stream().map(Attempt::failed).toArray()),
          durations,
          Sql.array("bigint", attempts.stream().map(a -> a.claim().itemId()).toArray()),
          Sql.array("integer", attempts.stream().map(a -> a.claim().attempts()).toArray()),
          Sql.array("bigint", attempts.stream().map(a -> a.startedAt().toEpochMilli()).toArray()),
          durations,
          Sql.array(
              "text",
              attempts.stream()
                  .map(a -> a.step().name().toLowerCase(java.util.Locale.ROOT))
                  .toArray()),
          Sql.array("text", attempts.stream().map(Attempt::detail).toArray()));
      c.commit();
    }
  }

  /**
   * Replaces what this worker last reported of its processor's circuit breakers (endpoint to open),
   * for the platform's metrics; an empty map withdraws its reports.
   */
  public void reportCircuits(String worker, Map<String, Boolean> open) throws SQLException {
    var endpoints = List.copyOf(open.keySet());
    try (var c = dataSource.getConnection()) {
      Sql.execute(
          c,
          """
          SELECT robusto_worker_report_circuits(?, ?, ?)
          """,
          worker,
          Sql.array("text", endpoints.toArray()),
          Sql.array("boolean", endpoints.stream().map(open::get).toArray()));
    }
  }

  /**
   * Adds a worker's calls to a Merchant's portal to this minute's figures of its tenant, with the
   * credential state it saw last (primary, fallback, missing or refused).
   */
  public void reportMerchant(
      String merchant, int succeeded, int failed, int fallbacks, String credential)
      throws SQLException {
    try (var c = dataSource.getConnection()) {
      Sql.execute(
          c,
          """
          SELECT robusto_worker_report_merchant(?, ?, ?, ?, ?)
          """,
          merchant,
          succeeded,
          failed,
          fallbacks,
          credential);
    }
  }

  private int rescueExpired(UUID batchId, String deployment) throws SQLException {
    return sql.one(
            """
            SELECT robusto_worker_rescue(?, ?)
            """,
            rs -> rs.getInt(1),
            Sql.orNull(batchId, Types.OTHER),
            deployment)
        .orElseThrow();
  }

  /**
   * A ticket as it stands, with its batch: live in the queue (held, pending, running) or its latest
   * outcome (succeeded, failed, dead_lettered, cancelled, redriven), its attempts and last error;
   * finishedAt is null while it is live.
   */
  public record Ticket(
      String key,
      String state,
      int attempts,
      String lastError,
      java.time.Instant createdAt,
      java.time.Instant updatedAt,
      java.time.Instant finishedAt,
      String batch,
      String priority,
      int maxAttempts,
      boolean suspended,
      String merchant,
      List<TicketStep> steps) {}

  /** One attempt at a ticket, as its worker recorded it (V17). */
  public record TicketStep(
      int attempt, java.time.Instant startedAt, long durationMs, String outcome, String detail) {}

  /**
   * The ticket with that key of the tenant living in {@code namespace} now: the live one, else its
   * latest outcome, with its steps when {@code withSteps} (every attempt of every redrive, in the
   * order they started), else none. One query, so reading a ticket costs the database one round
   * trip; its outcomes are looked up only when it is not live, by batch and key (V27).
   */
  public java.util.Optional<Ticket> ticket(String namespace, String key, boolean withSteps)
      throws SQLException {
    var found =
        sql.list(
            """
        WITH tenant AS (
          SELECT tenant_id FROM tenant_config WHERE namespace = ? AND retained_at IS NULL),
        live AS (
          SELECT i.tenant_id, i.batch_id, i.state, i.attempts, i.last_error, i.created_at,
                 i.updated_at, NULL::timestamptz AS finished_at
            FROM automation_items i JOIN tenant t USING (tenant_id)
           WHERE i.idempotency_key = ?),
        found AS (
          SELECT * FROM live
          UNION ALL
          (SELECT o.tenant_id, o.batch_id, o.state, o.attempts, o.last_error, o.created_at,
                  o.finished_at, o.finished_at
             FROM automation_item_keys k JOIN tenant t USING (tenant_id)
             JOIN automation_item_outcomes o
               ON o.batch_id = k.batch_id AND o.tenant_id = k.tenant_id
              AND o.idempotency_key = k.idempotency_key
            WHERE NOT EXISTS (SELECT FROM live) AND k.idempotency_key = ?
            ORDER BY o.finished_at DESC LIMIT 1))
        SELECT f.state, f.attempts, f.last_error, f.created_at, f.updated_at, f.finished_at,
               b.name, b.priority, b.max_attempts, b.suspended, b.merchant, s.*
          FROM found f JOIN automation_batches b USING (batch_id)
          LEFT JOIN LATERAL (
            SELECT array_agg(s.attempt ORDER BY s.started_at, s.item_id, s.attempt),
                   array_agg(s.started_at ORDER BY s.started_at, s.item_id, s.attempt),
                   array_agg(s.duration_ms ORDER BY s.started_at, s.item_id, s.attempt),
                   array_agg(s.outcome ORDER BY s.started_at, s.item_id, s.attempt),
                   array_agg(s.detail ORDER BY s.started_at, s.item_id, s.attempt)
              FROM automation_ticket_steps s
             WHERE ? AND s.tenant_id = f.tenant_id AND s.idempotency_key = ?) s ON true
        """,
            rs ->
                new Ticket(
                    key,
                    rs.getString(1),
                    rs.getInt(2),
                    rs.getString(3),
                    rs.getTimestamp(4).toInstant(),
                    rs.getTimestamp(5).toInstant(),
                    rs.getTimestamp(6) == null ? null : rs.getTimestamp(6).toInstant(),
                    rs.getString(7),
                    rs.getString(8),
                    rs.getInt(9),
                    rs.getBoolean(10),
                    rs.getString(11),
                    steps(rs, 12)),
            namespace,
            key,
            key,
            withSteps,
            key);
    // A tenant's key names one live ticket or its latest outcome: a second row is a broken query.
    if (found.size() > 1) {
      throw new IllegalStateException(
          "ticket %s of %s: %d rows".formatted(key, namespace, found.size()));
    }
    return found.stream().findFirst();
  }

  /** The steps in the five arrays from column {@code first} on (all null: none). */
  private static List<TicketStep> steps(java.sql.ResultSet rs, int first) throws SQLException {
    if (rs.getArray(first) == null) {
      return List.of();
    }
    var attempts = (Integer[]) rs.getArray(first).getArray();
    var started = (java.sql.Timestamp[]) rs.getArray(first + 1).getArray();
    var durations = (Integer[]) rs.getArray(first + 2).getArray();
    var outcomes = (String[]) rs.getArray(first + 3).getArray();
    var details = (String[]) rs.getArray(first + 4).getArray();
    var steps = new ArrayList<TicketStep>(attempts.length);
    for (var i = 0; i < attempts.length; i++) {
      steps.add(
          new TicketStep(
              attempts[i], started[i].toInstant(), durations[i], outcomes[i], details[i]));
    }
    return steps;
  }

  /** A dead-lettered ticket: its key, the attempts it used, its last error, when it ended. */
  public record DeadLetter(String key, int attempts, String lastError, String finishedAt) {}

  /** Up to {@code limit} of a batch's dead letters by key, after {@code afterKey} (null: first). */
  public List<DeadLetter> deadLetters(UUID batchId, String afterKey, int limit)
      throws SQLException {
    return sql.list(
        """
        SELECT idempotency_key, attempts, last_error, finished_at FROM automation_item_outcomes
        WHERE batch_id = ? AND state = 'dead_lettered' AND idempotency_key > ?
        ORDER BY idempotency_key LIMIT ?
        """,
        rs ->
            new DeadLetter(
                rs.getString(1),
                rs.getInt(2),
                rs.getString(3),
                rs.getTimestamp(4).toInstant().toString()),
        batchId,
        afterKey == null ? "" : afterKey,
        limit);
  }

  /**
   * Requeues a batch's dead letters with fresh attempts, as tickets waiting for the daily quota
   * (held: admitted, and billed, again), with their keys and last errors; their outcome rows stay,
   * as 'redriven' (what feature-flag auto-disable and the history read). Once per {@code
   * generation}: the batch row records the last one carried out, in the same transaction, so a
   * repeated call (a reconcile that died before writing its status) requeues nothing. Returns how
   * many were requeued, or empty when this generation was carried out already.
   */
  public java.util.OptionalLong redrive(UUID batchId, long generation) throws SQLException {
    return sql.inTransaction(
        c -> {
          var claimed =
              Sql.update(
                  c,
                  """
                  UPDATE automation_batches SET redriven_generation = ?, updated_at = now()
                  WHERE batch_id = ? AND redriven_generation < ?
                  """,
                  generation,
                  batchId,
                  generation);
          if (claimed == 0) {
            return java.util.OptionalLong.empty();
          }
          // Unchained again: the next custody round chains each as redriven (OutcomeCustody).
          var requeued =
              Sql.update(
                  c,
                  """
                  WITH dead AS (
                    UPDATE automation_item_outcomes SET state = 'redriven', custody_seq = NULL
                    WHERE batch_id = ? AND state = 'dead_lettered'
                    RETURNING tenant_id, idempotency_key, payload, last_error, created_at)
                  INSERT INTO automation_items (batch_id, tenant_id, idempotency_key, payload,
                    priority, state, last_error, created_at)
                  SELECT b.batch_id, d.tenant_id, d.idempotency_key, d.payload, b.priority, 'held',
                    d.last_error, d.created_at
                  FROM dead d JOIN automation_batches b ON b.batch_id = ?
                  """,
                  batchId,
                  batchId);
          if (requeued > 0) {
            // Active again: its progress is polled and it shares the tenant's workers.
            Sql.update(
                c,
                """
                UPDATE automation_batches SET completed_at = NULL WHERE batch_id = ?
                """,
                batchId);
          }
          return java.util.OptionalLong.of(requeued);
        });
  }

  /** What asking to cancel a ticket found. */
  public enum Cancellation {
    /** It was waiting (held or pending): it is cancelled and no worker will claim it. */
    CANCELLED,
    /** A worker holds it: it finishes, fails or is retried; it cannot be taken back now. */
    RUNNING,
    /** It has an outcome already. */
    FINISHED,
    /** The batch has no ticket with that key. */
    UNKNOWN
  }

  /**
   * Cancels a ticket of a batch by key if no worker holds it: its row leaves the queue for an
   * outcome 'cancelled' in one statement, so a worker's claim and the cancel cannot both win.
   * Cancelling a cancelled ticket again answers CANCELLED (a retried request). It waits at most 2 s
   * for a lock a worker (the tenant's code) holds, then throws (SQLSTATE 55P03): retry.
   */
  public Cancellation cancel(UUID batchId, String key) throws SQLException {
    return sql.inTransaction(
        c -> {
          Sql.execute(c, "SET LOCAL lock_timeout = '2s'");
          var cancelled =
              Sql.update(
                  c,
                  """
                  WITH gone AS (
                    DELETE FROM automation_items
                    WHERE batch_id = ? AND idempotency_key = ? AND state IN ('held', 'pending')
                    RETURNING *)
                  INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id,
                    idempotency_key, payload, state, attempts, last_error, created_at,
                    processing_ms)
                  SELECT item_id, batch_id, tenant_id, idempotency_key, payload, 'cancelled',
                    attempts, last_error, created_at, processing_ms FROM gone
                  """,
                  batchId,
                  key);
          if (cancelled > 0) {
            return Cancellation.CANCELLED;
          }
          var state =
              Sql.one(
                  c,
                  """
                  SELECT state FROM automation_items WHERE batch_id = ? AND idempotency_key = ?
                  UNION ALL SELECT state FROM automation_item_outcomes
                  WHERE batch_id = ? AND idempotency_key = ? AND state <> 'redriven'
                  """,
                  rs -> rs.getString(1),
                  batchId,
                  key,
                  batchId,
                  key);
          return state
              .map(
                  s ->
                      switch (s) {
                        case "running" -> Cancellation.RUNNING;
                        case "cancelled" -> Cancellation.CANCELLED;
                        default -> Cancellation.FINISHED;
                      })
              .orElse(Cancellation.UNKNOWN);
        });
  }

  /** How a batch's items stand, live and finished. */
  public Counts counts(UUID batchId) throws SQLException {
    var rows =
        sql.list(
            """
            SELECT state, count(*) FROM automation_items WHERE batch_id = ? GROUP BY state
            UNION ALL SELECT state, count(*) FROM automation_item_outcomes
            WHERE batch_id = ? GROUP BY state
            """,
            rs -> Map.entry(rs.getString(1), rs.getLong(2)),
            batchId,
            batchId);
    var byState = new HashMap<String, Long>();
    for (var row : rows) {
      byState.put(row.getKey(), row.getValue());
    }
    return Counts.of(byState);
  }

  /**
   * Which of {@code keys} the tenant living in {@code namespace} has used already, with the name of
   * the batch each went to (a key once used is never queued again).
   */
  public Map<String, String> usedKeys(String namespace, java.util.Collection<String> keys)
      throws SQLException {
    var used = new HashMap<String, String>();
    if (keys.isEmpty()) {
      return used;
    }
    sql.list(
        """
        SELECT k.idempotency_key, b.name
          FROM automation_item_keys k
          JOIN tenant_config t
            ON t.tenant_id = k.tenant_id AND t.namespace = ? AND t.retained_at IS NULL
          JOIN automation_batches b ON b.batch_id = k.batch_id
         WHERE k.idempotency_key = ANY(?)
        """,
        rs -> used.put(rs.getString(1), rs.getString(2)),
        namespace,
        Sql.array("text", keys.toArray()));
    return used;
  }

  /** Tickets by state of each of {@code batchIds}, in one query (a page of jobs). */
  public Map<UUID, Counts> counts(java.util.Collection<UUID> batchIds) throws SQLException {
    if (batchIds.isEmpty()) {
      return Map.of();
    }
    var byBatch = new HashMap<UUID, Map<String, Long>>();
    batchIds.forEach(id -> byBatch.put(id, new HashMap<>()));
    var ids = Sql.array("uuid", batchIds.toArray());
    sql.list(
        """
        SELECT batch_id, state, count(*) FROM automation_items
         WHERE batch_id = ANY(?) GROUP BY batch_id, state
        UNION ALL SELECT batch_id, state, count(*) FROM automation_item_outcomes
         WHERE batch_id = ANY(?) GROUP BY batch_id, state
        """,
        rs ->
            byBatch
                .get(rs.getObject(1, UUID.class))
                .merge(rs.getString(2), rs.getLong(3), Long::sum),
        ids,
        ids);
    var counts = new HashMap<UUID, Counts>();
    byBatch.forEach((id, states) -> counts.put(id, Counts.of(states)));
    return counts;
  }

  /** How many of one of the caller's batches' items are still to be processed (the worker). */
  public long liveItems(UUID batchId) throws SQLException {
    return sql.one(
            """
            SELECT robusto_worker_live_items(?)
            """,
            rs -> rs.getLong(1),
            batchId)
        .orElseThrow();
  }

  /** Calls a fenced worker function (claims, then a number); returns the ids it touched. */
  private Set<Long> fenced(String call, List<Claim> claims, long millis) throws SQLException {
    return new HashSet<>(
        sql.list(
            call,
            rs -> rs.getLong(1),
            Sql.array("bigint", ids(claims)),
            Sql.array("uuid", tokens(claims)),
            millis));
  }

  private static Object[] ids(List<Claim> claims) {
    return claims.stream().map(Claim::itemId).toArray();
  }

  private static Object[] tokens(List<Claim> claims) {
    return claims.stream().map(Claim::token).toArray();
  }
}
