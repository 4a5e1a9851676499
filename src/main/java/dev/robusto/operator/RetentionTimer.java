package dev.robusto.operator;

import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Runs {@link Retention} on the leader every robusto.retention.interval (Helm value
 * retention.interval, default a day; {@code off} turns it off), records what each sweep removed in
 * the audit log (one entry per table that lost rows, naming the cutoff and the count) and exports
 * the figures: {@code robusto_retention_deleted_rows_total{table}}, {@code
 * robusto_retention_last_success_timestamp_seconds} and {@code robusto_retention_failures_total}.
 */
@ApplicationScoped
public class RetentionTimer {

  static final String ACTOR = "robusto-retention";
  private static final Logger LOG = Logger.getLogger(RetentionTimer.class);

  @ConfigMapping(prefix = "robusto.retention")
  public interface Settings {
    /** How often the leader sweeps ('off': never); read by the schedule. */
    String interval();

    /** How long after start the first sweep runs; read by the schedule. */
    @WithDefault("5m")
    String firstDelay();

    /** Outcomes, idempotency keys and fleet attempts older than this go. */
    @WithDefault("P30D")
    Duration finishedAfter();

    /** Daily usage rows (billing) older than this go. */
    @WithDefault("P400D")
    Duration metricsAfter();

    /** Rows deleted per table and transaction. */
    @WithDefault("1000")
    int batchSize();
  }

  private final Retention retention;
  private final Leadership leadership;
  private final Auditor auditor;
  private final MeterRegistry registry;
  private final Clock clock;
  private final AtomicLong lastSuccess = new AtomicLong();

  RetentionTimer(
      DataSource dataSource,
      Settings settings,
      Leadership leadership,
      AuditLog audit,
      MeterRegistry registry,
      Clock clock) {
    this.retention =
        new Retention(
            dataSource,
            new Retention.Windows(
                settings.finishedAfter(), settings.metricsAfter(), settings.batchSize()));
    this.leadership = leadership;
    this.auditor = new Auditor(audit, ACTOR);
    this.registry = registry;
    this.clock = clock;
    registry.gauge("robusto.retention.last.success.timestamp.seconds", lastSuccess);
  }

  @Scheduled(
      every = "${robusto.retention.interval}",
      delayed = "${robusto.retention.first-delay}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void run() {
    if (!leadership.leads()) {
      return;
    }
    var now = clock.instant();
    try {
      var removed = retention.sweep(now);
      removed
          .rowsByTable()
          .forEach(
              (table, rows) -> {
                registry.counter("robusto.retention.deleted.rows", "table", table).increment(rows);
                if (rows > 0) {
                  // What went, in the resource's name: the table, the cutoff, the count.
                  auditor.record(
                      "delete",
                      "retention/%s/older-than=%s/rows=%d"
                          .formatted(table, removed.cutoff(table), rows),
                      null,
                      null,
                      null);
                }
              });
      lastSuccess.set(now.getEpochSecond());
      LOG.infof(
          "Retention removed %d rows in %d calls: %s",
          removed.total(), removed.calls(), removed.rowsByTable());
    } catch (SQLException | RuntimeException e) {
      registry.counter("robusto.retention.failures").increment();
      LOG.warnf("Retention failed, retried at the next run: %s", ReconcileErrors.detail(e));
    }
  }
}
