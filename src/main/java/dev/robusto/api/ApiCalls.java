package dev.robusto.api;

import dev.robusto.operator.Sql;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Counts the ticket API's calls: a metric per version, endpoint and status class (no caller label:
 * callers are unbounded), and a daily row per namespace, caller, version and endpoint in PostgreSQL
 * (api_calls), added every {@link #FLUSH} from memory, for the migration report. A row names the
 * tenant living in the namespace when it is added (an export or an erasure finds it by tenant);
 * calls to a namespace no live tenant holds by then are dropped, as the tenant's other rows were.
 */
@ApplicationScoped
public class ApiCalls {

  private static final Logger LOG = Logger.getLogger(ApiCalls.class);
  static final String FLUSH = "5s";

  /** More distinct rows than this wait in memory for the next flush, counted in the metric only. */
  static final int MAX_PENDING = 10_000;

  record Key(LocalDate day, String namespace, String caller, String version, String endpoint) {}

  private record Pending(LongAdder calls, Instant[] last) {}

  /** One caller's calls over a period, for the report. */
  public record CallerCalls(
      String namespace,
      String caller,
      String version,
      String endpoint,
      long calls,
      Instant lastCallAt) {}

  private final MeterRegistry registry;
  private final Sql sql;
  private final Clock clock;
  // Calls are counted under the read lock; a flush swaps the map under the write lock, so no count
  // lands in a map already taken.
  private final java.util.concurrent.locks.ReadWriteLock swap =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  private Map<Key, Pending> pending = new ConcurrentHashMap<>();
  // Versions, endpoints and status classes are bounded sets: one counter each, found, not built,
  // on every call.
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  ApiCalls(MeterRegistry registry, DataSource dataSource, Clock clock) {
    this.registry = registry;
    this.sql = new Sql(dataSource);
    this.clock = clock;
  }

  /** One call; {@code caller} and {@code namespace} are null when the caller was not known. */
  void record(String version, String endpoint, int status, String namespace, String caller) {
    var code = (status / 100) + "xx";
    counters
        .computeIfAbsent(
            version + " " + endpoint + " " + code,
            k ->
                Counter.builder("robusto_api_requests_total")
                    .description("Calls to the ticket API by version, endpoint and status class.")
                    .tag("version", version)
                    .tag("endpoint", endpoint)
                    .tag("code", code)
                    .register(registry))
        .increment();
    if (caller == null || namespace == null) {
      return;
    }
    var now = clock.instant();
    var key =
        new Key(LocalDate.ofInstant(now, ZoneOffset.UTC), namespace, caller, version, endpoint);
    swap.readLock().lock();
    try {
      add(pending, key, 1, now);
    } finally {
      swap.readLock().unlock();
    }
  }

  private static void add(Map<Key, Pending> into, Key key, long calls, Instant at) {
    if (into.size() >= MAX_PENDING && !into.containsKey(key)) {
      return;
    }
    var entry = into.computeIfAbsent(key, k -> new Pending(new LongAdder(), new Instant[1]));
    entry.calls().add(calls);
    synchronized (entry) {
      if (entry.last()[0] == null || entry.last()[0].isBefore(at)) {
        entry.last()[0] = at;
      }
    }
  }

  /** Adds what was counted since the last flush to the daily rows; kept for the next on failure. */
  @Scheduled(every = FLUSH, concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void flush() {
    Map<Key, Pending> counted;
    swap.writeLock().lock();
    try {
      if (pending.isEmpty()) {
        return;
      }
      counted = pending;
      pending = new ConcurrentHashMap<>();
    } finally {
      swap.writeLock().unlock();
    }
    var taken = new ArrayList<Object[]>();
    for (var e : counted.entrySet()) {
      var key = e.getKey();
      var entry = e.getValue();
      var calls = entry.calls().sum();
      taken.add(
          new Object[] {
            java.sql.Date.valueOf(key.day()),
            key.caller(),
            key.version(),
            key.endpoint(),
            calls,
            Timestamp.from(entry.last()[0]),
            key.namespace()
          });
    }
    try {
      sql.inTransaction(
          c -> {
            Sql.batch(
                c,
                """
                INSERT INTO api_calls AS a (day, namespace, caller, version, endpoint, calls,
                                            last_call_at, tenant_id)
                SELECT ?::date, t.namespace, ?, ?, ?, ?::bigint, ?::timestamptz, t.tenant_id
                  FROM tenant_config t WHERE t.namespace = ? AND t.retained_at IS NULL
                ON CONFLICT (day, namespace, caller, version, endpoint) DO UPDATE SET
                    calls = a.calls + excluded.calls,
                    last_call_at = greatest(a.last_call_at, excluded.last_call_at),
                    tenant_id = excluded.tenant_id
                """,
                taken);
            Sql.update(c, "DELETE FROM api_calls WHERE day < current_date - 90");
            return null;
          });
    } catch (SQLException e) {
      swap.readLock().lock();
      try {
        counted.forEach((key, entry) -> add(pending, key, entry.calls().sum(), entry.last()[0]));
      } finally {
        swap.readLock().unlock();
      }
      LOG.warnf(
          "could not record the ticket API's calls (kept for the next try): %s", e.getMessage());
    }
  }

  /** Calls per version from {@code from} to {@code to} (UTC days, inclusive). */
  Map<String, Long> totals(LocalDate from, LocalDate to) throws SQLException {
    flush();
    var totals = new java.util.TreeMap<String, Long>();
    sql.list(
        """
        SELECT version, sum(calls) FROM api_calls WHERE day BETWEEN ? AND ? GROUP BY version
        """,
        rs -> totals.put(rs.getString(1), rs.getLong(2)),
        java.sql.Date.valueOf(from),
        java.sql.Date.valueOf(to));
    return totals;
  }

  /**
   * Each {@code version} caller's calls per endpoint from {@code from} to {@code to} (UTC days,
   * inclusive), most calls first; at most {@code limit} rows.
   */
  List<CallerCalls> callers(String version, LocalDate from, LocalDate to, int limit)
      throws SQLException {
    flush();
    return sql.list(
        """
        SELECT namespace, caller, version, endpoint, sum(calls), max(last_call_at)
          FROM api_calls WHERE version = ? AND day BETWEEN ? AND ?
         GROUP BY namespace, caller, version, endpoint
         ORDER BY sum(calls) DESC, namespace, caller, version, endpoint
         LIMIT ?
        """,
        rs ->
            new CallerCalls(
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getLong(5),
                rs.getTimestamp(6).toInstant()),
        version,
        java.sql.Date.valueOf(from),
        java.sql.Date.valueOf(to),
        limit);
  }
}
