package dev.robusto.store;

import java.sql.SQLException;
import java.util.ArrayList;
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

  /** The limits of the tenant owning a namespace, as the Tenant reconciler wrote them. */
  public record TenantLimits(
      String tenantId,
      int maxConcurrentJobs,
      int maxDailyJobs,
      int requestsPerMinute,
      boolean suspended) {}

  /** The row of one batch. */
  public record Batch(
      UUID batchId,
      String tenantId,
      String namespace,
      String name,
      String priority,
      int maxAttempts,
      int parallelism,
      String deployment) {}

  private final DataSource dataSource;

  public BatchStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  public Optional<TenantLimits> tenantOfNamespace(String namespace) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT tenant_id, max_concurrent_jobs, max_daily_jobs, requests_per_minute,"
                    + " suspended FROM tenant_config WHERE namespace = ? AND retained_at IS NULL")) {
      query.setString(1, namespace);
      try (var rs = query.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(
            new TenantLimits(
                rs.getString(1), rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getBoolean(5)));
      }
    }
  }

  /** Creates the batch's row, or brings its priority and limits up to date. */
  public void upsert(Batch batch) throws SQLException {
    try (var c = dataSource.getConnection();
        var upsert =
            c.prepareStatement(
                "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name, priority,"
                    + " max_attempts, parallelism, deployment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    + " ON CONFLICT (batch_id) DO UPDATE SET priority = excluded.priority,"
                    + " max_attempts = excluded.max_attempts, parallelism = excluded.parallelism,"
                    + " deployment = excluded.deployment, updated_at = now()"
                    + " WHERE (automation_batches.priority, automation_batches.max_attempts,"
                    + " automation_batches.parallelism, automation_batches.deployment)"
                    + " IS DISTINCT FROM (excluded.priority, excluded.max_attempts,"
                    + " excluded.parallelism, excluded.deployment)")) {
      upsert.setObject(1, batch.batchId());
      upsert.setString(2, batch.tenantId());
      upsert.setString(3, batch.namespace());
      upsert.setString(4, batch.name());
      upsert.setString(5, batch.priority());
      upsert.setInt(6, batch.maxAttempts());
      upsert.setInt(7, batch.parallelism());
      upsert.setString(8, batch.deployment());
      upsert.executeUpdate();
    }
  }

  /**
   * Shares the tenant's cap among its active batches (see {@link WorkerAllocation}) under the lock
   * of its tenant_config row, so concurrent reconciles of its batches cannot grant more than the
   * cap between them. Returns the workers each active batch holds.
   */
  public Map<UUID, Integer> allocate(String tenantId, int cap) throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var lock =
              c.prepareStatement("SELECT 1 FROM tenant_config WHERE tenant_id = ? FOR UPDATE");
          var demands =
              c.prepareStatement(
                  "SELECT b.batch_id, b.priority, b.created_at, b.parallelism, b.workers,"
                      + " (SELECT count(*) FROM automation_items i WHERE i.batch_id = b.batch_id"
                      + " AND i.state IN ('pending', 'running'))"
                      + " FROM automation_batches b WHERE b.tenant_id = ? AND b.completed_at IS NULL");
          var grant =
              c.prepareStatement(
                  "UPDATE automation_batches SET workers = ? WHERE batch_id = ? AND workers <> ?")) {
        lock.setString(1, tenantId);
        lock.executeQuery().close();
        demands.setString(1, tenantId);
        var list = new ArrayList<WorkerAllocation.Demand>();
        try (var rs = demands.executeQuery()) {
          while (rs.next()) {
            list.add(
                new WorkerAllocation.Demand(
                    rs.getObject(1, UUID.class),
                    rank(rs.getString(2)),
                    rs.getTimestamp(3).toInstant(),
                    rs.getInt(4),
                    rs.getLong(6),
                    rs.getInt(5)));
          }
        }
        var allocation = WorkerAllocation.allocate(list, cap);
        for (var entry : allocation.entrySet()) {
          grant.setInt(1, entry.getValue());
          grant.setObject(2, entry.getKey());
          grant.setInt(3, entry.getValue());
          grant.addBatch();
        }
        grant.executeBatch();
        c.commit();
        return allocation;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** The batch's Job is gone or done: its workers go back to the tenant. */
  public void releaseWorkers(UUID batchId) throws SQLException {
    update(
        "UPDATE automation_batches SET workers = 0 WHERE batch_id = ? AND workers <> 0", batchId);
  }

  /** Records the phase; a finished batch leaves the active set (and the progress polling). */
  public void recordPhase(UUID batchId, String phase, boolean finished) throws SQLException {
    try (var c = dataSource.getConnection();
        var update =
            c.prepareStatement(
                "UPDATE automation_batches SET phase = ?, updated_at = now(),"
                    + " completed_at = CASE WHEN ? THEN coalesce(completed_at, now()) END,"
                    + " workers = CASE WHEN ? THEN 0 ELSE workers END"
                    + " WHERE batch_id = ? AND (phase <> ? OR (completed_at IS NULL) = ?)")) {
      update.setString(1, phase);
      update.setBoolean(2, finished);
      update.setBoolean(3, finished);
      update.setObject(4, batchId);
      update.setString(5, phase);
      update.setBoolean(6, finished);
      update.executeUpdate();
    }
  }

  /** A batch's row as the API reports it. */
  public record Row(UUID batchId, String phase, boolean completed) {}

  /**
   * The batch of that name in the namespace, of the tenant living there now: a tenant given a
   * namespace an earlier, retained tenant had never sees that tenant's batches.
   */
  public Optional<Row> find(String namespace, String name) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT b.batch_id, b.phase, b.completed_at IS NOT NULL"
                    + " FROM automation_batches b JOIN tenant_config t USING (tenant_id)"
                    + " WHERE b.namespace = ? AND b.name = ? AND t.namespace = b.namespace"
                    + " AND t.retained_at IS NULL")) {
      query.setString(1, namespace);
      query.setString(2, name);
      try (var rs = query.executeQuery()) {
        return rs.next()
            ? Optional.of(new Row(rs.getObject(1, UUID.class), rs.getString(2), rs.getBoolean(3)))
            : Optional.empty();
      }
    }
  }

  /** Deletes the batch's row; its queued items go with it (see V4 for what its keys do). */
  public void delete(UUID batchId) throws SQLException {
    update("DELETE FROM automation_batches WHERE batch_id = ?", batchId);
  }

  /**
   * What the operator polls for each active batch, by namespace and name: its counts and the
   * workers it holds (which change when another batch of its tenant gives workers back).
   */
  public record Progress(WorkQueue.Counts counts, int workers) {}

  public Map<String, Progress> activeProgress() throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "WITH active AS (SELECT batch_id, namespace, name, workers"
                    + " FROM automation_batches WHERE completed_at IS NULL),"
                    + " states AS (SELECT batch_id, state, count(*) AS n FROM automation_items"
                    + " WHERE batch_id IN (SELECT batch_id FROM active) GROUP BY 1, 2"
                    + " UNION ALL SELECT batch_id, state, count(*) FROM automation_item_outcomes"
                    + " WHERE batch_id IN (SELECT batch_id FROM active) GROUP BY 1, 2)"
                    + " SELECT a.namespace, a.name, s.state, s.n, a.workers FROM active a"
                    + " LEFT JOIN states s USING (batch_id)")) {
      var byBatch = new HashMap<String, Map<String, Long>>();
      var workers = new HashMap<String, Integer>();
      try (var rs = query.executeQuery()) {
        while (rs.next()) {
          var key = rs.getString(1) + "/" + rs.getString(2);
          var states = byBatch.computeIfAbsent(key, k -> new HashMap<>());
          if (rs.getString(3) != null) {
            states.put(rs.getString(3), rs.getLong(4));
          }
          workers.put(key, rs.getInt(5));
        }
      }
      var result = new HashMap<String, Progress>();
      byBatch.forEach(
          (key, states) ->
              result.put(key, new Progress(WorkQueue.Counts.of(states), workers.get(key))));
      return result;
    }
  }

  private static int rank(String priority) {
    return switch (priority) {
      case "urgente" -> 0;
      case "alta" -> 1;
      case "normal" -> 2;
      default -> 3;
    };
  }

  private void update(String sql, UUID batchId) throws SQLException {
    try (var c = dataSource.getConnection();
        var update = c.prepareStatement(sql)) {
      update.setObject(1, batchId);
      update.executeUpdate();
    }
  }
}
