package dev.robusto.batch;

import dev.robusto.operator.Sql;
import dev.robusto.queue.WorkQueue;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Batches in automation_batches: the row each AutomationBatch has (keyed by its Kubernetes uid),
 * the workers it holds of its tenant's concurrency cap, and the progress the operator polls.
 */
public final class BatchStore {

  /** The row of one batch. */
  public record Batch(
      UUID batchId,
      String tenantId,
      String namespace,
      String name,
      String priority,
      int maxAttempts,
      int parallelism,
      String deployment,
      boolean suspended,
      String merchant) {}

  private final Sql sql;

  public BatchStore(DataSource dataSource) {
    this.sql = new Sql(dataSource);
  }

  /**
   * Creates the batch's row, or brings its priority, limits and suspension up to date (a suspended
   * batch's tickets are claimed by no worker: robusto_worker_claim).
   */
  public void upsert(Batch batch) throws SQLException {
    sql.update(
        """
        INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, priority,
          max_attempts, parallelism, deployment, suspended, merchant)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (batch_id) DO UPDATE SET priority = excluded.priority,
          max_attempts = excluded.max_attempts, parallelism = excluded.parallelism,
          deployment = excluded.deployment, suspended = excluded.suspended,
          merchant = excluded.merchant, updated_at = now()
        WHERE (automation_batches.priority, automation_batches.max_attempts,
          automation_batches.parallelism, automation_batches.deployment,
          automation_batches.suspended, automation_batches.merchant)
          IS DISTINCT FROM (excluded.priority, excluded.max_attempts,
          excluded.parallelism, excluded.deployment, excluded.suspended, excluded.merchant)
        """,
        batch.batchId(),
        batch.tenantId(),
        batch.namespace(),
        batch.name(),
        batch.priority(),
        batch.maxAttempts(),
        batch.parallelism(),
        batch.deployment(),
        batch.suspended(),
        batch.merchant());
  }

  /**
   * Shares the tenant's cap among its active batches (see {@link WorkerAllocation}; a suspended one
   * wants none) under the lock of its tenant_config row, so concurrent reconciles of its batches
   * cannot grant more than the cap between them. Returns the workers each active batch holds.
   */
  public Map<UUID, Integer> allocate(String tenantId, int cap) throws SQLException {
    return sql.inTransaction(
        c -> {
          Sql.execute(
              c,
              """
              SELECT 1 FROM tenant_config WHERE tenant_id = ? FOR UPDATE
              """,
              tenantId);
          var demands =
              Sql.list(
                  c,
                  """
                  SELECT b.batch_id, b.priority, b.created_at, b.parallelism, b.workers,
                    CASE WHEN b.suspended THEN 0 ELSE
                      (SELECT count(*) FROM automation_items i WHERE i.batch_id = b.batch_id
                        AND i.state IN ('pending', 'running')) END
                  FROM automation_batches b WHERE b.tenant_id = ? AND b.completed_at IS NULL
                  """,
                  rs ->
                      new WorkerAllocation.Demand(
                          rs.getObject(1, UUID.class),
                          Priority.of(rs.getString(2)).rank(),
                          rs.getTimestamp(3).toInstant(),
                          rs.getInt(4),
                          rs.getLong(6),
                          rs.getInt(5)),
                  tenantId);
          var allocation = WorkerAllocation.allocate(demands, cap);
          Sql.batch(
              c,
              """
              UPDATE automation_batches SET workers = ? WHERE batch_id = ? AND workers <> ?
              """,
              allocation.entrySet().stream()
                  .map(entry -> new Object[] {entry.getValue(), entry.getKey(), entry.getValue()})
                  .toList());
          return allocation;
        });
  }

  /** Suspends or resumes the batch's row, if it has one yet (see {@link #upsert}). */
  public void suspend(UUID batchId, boolean suspended) throws SQLException {
    sql.update(
        """
        UPDATE automation_batches SET suspended = ?, updated_at = now()
        WHERE batch_id = ? AND suspended <> ?
        """,
        suspended,
        batchId,
        suspended);
  }

  /** The batch's Job is gone or done: its workers go back to the tenant. */
  public void releaseWorkers(UUID batchId) throws SQLException {
    sql.update(
        """
        UPDATE automation_batches SET workers = 0 WHERE batch_id = ? AND workers <> 0
        """,
        batchId);
  }

  /** Records the phase; a finished batch leaves the active set (and the progress polling). */
  public void recordPhase(UUID batchId, String phase, boolean finished) throws SQLException {
    sql.update(
        """
        UPDATE automation_batches SET phase = ?, updated_at = now(),
          completed_at = CASE WHEN ? THEN coalesce(completed_at, now()) END,
          workers = CASE WHEN ? THEN 0 ELSE workers END
        WHERE batch_id = ? AND (phase <> ? OR (completed_at IS NULL) = ?)
        """,
        phase,
        finished,
        finished,
        batchId,
        phase,
        finished);
  }

  /** A batch's row as the API reports it. */
  public record Row(UUID batchId, String phase, boolean completed) {}

  /**
   * The batch of that name in the namespace, of the tenant living there now: a tenant given a
   * namespace an earlier, retained tenant had never sees that tenant's batches.
   */
  public Optional<Row> find(String namespace, String name) throws SQLException {
    return sql.one(
        """
        SELECT b.batch_id, b.phase, b.completed_at IS NOT NULL
        FROM automation_batches b JOIN tenant_config t USING (tenant_id)
        WHERE b.namespace = ? AND b.name = ? AND t.namespace = b.namespace
          AND t.retained_at IS NULL
        """,
        rs -> new Row(rs.getObject(1, UUID.class), rs.getString(2), rs.getBoolean(3)),
        namespace,
        name);
  }

  /** A batch as a list shows it. */
  public record Listed(
      UUID batchId,
      String name,
      String phase,
      String priority,
      int maxAttempts,
      java.time.Instant createdAt) {}

  /**
   * Up to {@code limit} of the namespace's batches (of the tenant living there now) by name after
   * {@code afterName}, only those in {@code phases} when it is not empty.
   */
  public java.util.List<Listed> page(
      String namespace, java.util.Set<String> phases, String afterName, int limit)
      throws SQLException {
    return sql.list(
        """
        SELECT b.batch_id, b.name, b.phase, b.priority, b.max_attempts, b.created_at
        FROM automation_batches b JOIN tenant_config t USING (tenant_id)
        WHERE b.namespace = ? AND t.namespace = b.namespace AND t.retained_at IS NULL
          AND b.name > ? AND (cardinality(?::text[]) = 0 OR b.phase = ANY(?::text[]))
        ORDER BY b.name LIMIT ?
        """,
        rs ->
            new Listed(
                rs.getObject(1, UUID.class),
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getInt(5),
                rs.getTimestamp(6).toInstant()),
        namespace,
        afterName == null ? "" : afterName,
        Sql.array("text", phases.toArray()),
        Sql.array("text", phases.toArray()),
        limit);
  }

  /** Deletes the batch's row; its queued items go with it (see V4 for what its keys do). */
  public void delete(UUID batchId) throws SQLException {
    sql.update(
        """
        DELETE FROM automation_batches WHERE batch_id = ?
        """,
        batchId);
  }

  /**
   * What the operator polls for each active batch, by namespace and name: its counts and the
   * workers it holds (which change when another batch of its tenant gives workers back).
   */
  public record Progress(WorkQueue.Counts counts, int workers) {}

  public Map<String, Progress> activeProgress() throws SQLException {
    record Count(String batch, String state, long n, int workers) {}
    var counts =
        sql.list(
            """
            WITH active AS (SELECT batch_id, namespace, name, workers
              FROM automation_batches WHERE completed_at IS NULL),
            states AS (SELECT batch_id, state, count(*) AS n FROM automation_items
              WHERE batch_id IN (SELECT batch_id FROM active) GROUP BY 1, 2
              UNION ALL SELECT batch_id, state, count(*) FROM automation_item_outcomes
              WHERE batch_id IN (SELECT batch_id FROM active) GROUP BY 1, 2)
            SELECT a.namespace, a.name, s.state, s.n, a.workers FROM active a
              LEFT JOIN states s USING (batch_id)
            """,
            rs ->
                new Count(
                    rs.getString(1) + "/" + rs.getString(2),
                    rs.getString(3),
                    rs.getLong(4),
                    rs.getInt(5)));
    var byBatch = new HashMap<String, Map<String, Long>>();
    var workers = new HashMap<String, Integer>();
    for (var count : counts) {
      var states = byBatch.computeIfAbsent(count.batch(), k -> new HashMap<>());
      if (count.state() != null) {
        states.put(count.state(), count.n());
      }
      workers.put(count.batch(), count.workers());
    }
    var result = new HashMap<String, Progress>();
    byBatch.forEach(
        (key, states) ->
            result.put(key, new Progress(WorkQueue.Counts.of(states), workers.get(key))));
    return result;
  }
}
