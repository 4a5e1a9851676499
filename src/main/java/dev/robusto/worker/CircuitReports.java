package dev.robusto.worker;

import dev.robusto.queue.WorkQueue;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * What a worker tells the platform of its processor's circuit breakers, for the metric of open
 * circuits per endpoint: each one's state whenever one changes and every {@link #REFRESH} (the
 * leader ignores reports older than two minutes, so a killed worker's open circuit fades), and none
 * once the worker ends. A processor without breakers reports nothing.
 */
final class CircuitReports {

  private static final Logger LOG = Logger.getLogger(CircuitReports.class);

  /** How often the breakers are looked at (in memory); a report goes out only on a change. */
  static final Duration CHECK = Duration.ofSeconds(1);

  /** How often unchanged states are reported again, to show the worker still holds them. */
  static final Duration REFRESH = Duration.ofSeconds(30);

  private final WorkQueue queue;
  private final String worker;
  private final ItemProcessor processor;
  private final LongSupplier nanoTime;
  private Map<String, Boolean> reported = Map.of();
  private long reportedAt;
  private long failedAt = Long.MIN_VALUE;

  CircuitReports(WorkQueue queue, String worker, ItemProcessor processor, LongSupplier nanoTime) {
    this.queue = queue;
    this.worker = worker;
    this.processor = processor;
    this.nanoTime = nanoTime;
  }

  /** Reports the breakers' states if they changed or the last report is getting old. */
  synchronized void check() {
    var now = processor.circuits();
    var clock = nanoTime.getAsLong();
    if (failedAt != Long.MIN_VALUE && clock - failedAt < REFRESH.toNanos()) {
      return; // the last report failed: not again before REFRESH
    }
    var fresh = clock - reportedAt < REFRESH.toNanos();
    if (now.equals(reported) && (now.isEmpty() || fresh)) {
      return;
    }
    report(now);
  }

  /** Withdraws the worker's reports: it is ending, its breakers with it. */
  synchronized void withdraw() {
    if (!reported.isEmpty()) {
      report(Map.of());
    }
  }

  private void report(Map<String, Boolean> states) {
    try {
      queue.reportCircuits(worker, states);
      reported = Map.copyOf(states);
      reportedAt = nanoTime.getAsLong();
      failedAt = Long.MIN_VALUE;
    } catch (SQLException e) {
      // A figure, not work: tried again after REFRESH.
      failedAt = nanoTime.getAsLong();
      LOG.warnf("could not report the circuit breakers' states: %s", e.getMessage());
    }
  }
}
