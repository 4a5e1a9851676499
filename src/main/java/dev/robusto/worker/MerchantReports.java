package dev.robusto.worker;

import dev.robusto.queue.WorkQueue;
import java.sql.SQLException;
import java.time.Duration;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * What a worker tells the platform of its calls to a Merchant's portal, for the Merchant's status:
 * every {@link #EVERY} when it made calls or its credential changed, at least every {@link
 * #REFRESH} while it runs (so "last observed" stays true), and once more when it ends.
 */
final class MerchantReports {

  private static final Logger LOG = Logger.getLogger(MerchantReports.class);

  static final Duration EVERY = Duration.ofSeconds(5);
  static final Duration REFRESH = Duration.ofSeconds(60);

  private final WorkQueue queue;
  private final MerchantCalls calls;
  private final LongSupplier nanoTime;
  private String reportedCredential;
  private long reportedAt = Long.MIN_VALUE;

  MerchantReports(WorkQueue queue, MerchantCalls calls, LongSupplier nanoTime) {
    this.queue = queue;
    this.calls = calls;
    this.nanoTime = nanoTime;
  }

  /** Reports what changed since the last report, if anything did or it is getting old. */
  synchronized void check() {
    var report = calls.take();
    var idle = report.succeeded() == 0 && report.failed() == 0 && report.fallbacks() == 0;
    // Before its first call a worker has seen nothing of the portal, unless it has no credential
    // to call with: that it says at once.
    var problem = report.credential().equals("missing") || report.credential().equals("refused");
    var quiet =
        idle
            && (reportedCredential == null
                ? !problem
                : report.credential().equals(reportedCredential)
                    && nanoTime.getAsLong() - reportedAt < REFRESH.toNanos());
    if (!quiet) {
      send(report);
    }
  }

  /** The last counts, as the worker ends. */
  synchronized void flush() {
    var report = calls.take();
    if (report.succeeded() + report.failed() + report.fallbacks() > 0) {
      send(report);
    }
  }

  private void send(MerchantCalls.Report report) {
    try {
      queue.reportMerchant(
          report.merchant(),
          report.succeeded(),
          report.failed(),
          report.fallbacks(),
          report.credential());
      reportedCredential = report.credential();
      reportedAt = nanoTime.getAsLong();
    } catch (SQLException e) {
      // A figure, not work: its counts go into the next report.
      calls.giveBack(report);
      LOG.warnf("could not report the calls to merchant %s: %s", report.merchant(), e.getMessage());
    }
  }
}
