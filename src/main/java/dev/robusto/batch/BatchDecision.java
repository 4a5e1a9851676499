package dev.robusto.batch;

import dev.robusto.queue.WorkQueue;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Optional;

/**
 * What a batch's reconcile does, decided from what it found, without touching anything: whether its
 * tickets are still to be read, whether held tickets ask for today's quota, whether a Job that
 * ended gives its workers back, what happens to the worker Job, and when to look again. The
 * database arbitrates quota and workers between batches (it alone sees them all), so its answers
 * are facts here.
 */
final class BatchDecision {

  /** What happens to the batch's worker Job. */
  enum JobMove {
    /** A fleet's batch: the fleet's Deployment claims the tickets, no Job of its own. */
    FLEET,
    /** The newest Job failed: the batch says why instead of starting another. */
    REPORT_FAILURE,
    /** No Job runs and there are tickets and workers: the next round starts. */
    START,
    /** The running Job has fewer workers than the batch holds now. */
    GROW,
    /** The running Job is as large as it may be. */
    KEEP,
    /** Nothing to claim, or no worker to claim it with (throttled). */
    NONE
  }

  private BatchDecision() {}

  /** A batch whose status does not yet show this generation's tickets reads them (idempotently). */
  static boolean needsIngest(AutomationBatch batch) {
    var status = batch.getStatus();
    return status == null
        || status.counts == null
        || !batch.getMetadata().getGeneration().equals(ingestedGeneration(status));
  }

  /**
   * The generation whose tickets are in the queue. A status written before ingestedGeneration
   * existed has only observedGeneration, which then meant the same.
   */
  static Long ingestedGeneration(AutomationBatchStatus status) {
    return status.ingestedGeneration != null
        ? status.ingestedGeneration
        : status.observedGeneration;
  }

  /** Finished and its spec unchanged: nothing to read or share out, only Jobs to remove. */
  static boolean finished(AutomationBatch batch) {
    return !needsIngest(batch)
        && batch.getStatus().phase != null
        && batch.getStatus().phase.finished();
  }

  /** Held tickets ask the daily ledger for today's quota. */
  static boolean admits(WorkQueue.Counts counts) {
    return counts.held() > 0;
  }

  /** A Job that completed or failed holds no workers any more. */
  static boolean releasesWorkers(String jobState) {
    return jobState != null && !"Running".equals(jobState);
  }

  /**
   * The worker Job's move. {@code jobState} and {@code parallelism} are the newest Job's (null:
   * none); {@code workers} is what the batch holds of its tenant's cap now. A suspended batch's
   * running Job is left to end by itself (its workers finish their claims and exit: the database
   * shows them nothing live), so its workers go back only once its pods are gone.
   */
  static JobMove jobMove(
      boolean fleet,
      boolean suspended,
      String jobState,
      Integer parallelism,
      long live,
      int workers) {
    if (fleet) {
      return JobMove.FLEET;
    }
    if ("Failed".equals(jobState)) {
      return JobMove.REPORT_FAILURE;
    }
    if (suspended || live == 0 || workers == 0) {
      return JobMove.NONE;
    }
    if (!"Running".equals(jobState)) {
      return JobMove.START;
    }
    return parallelism >= workers ? JobMove.KEEP : JobMove.GROW;
  }

  /** When held tickets get the next day's quota: midnight UTC after {@code now}. */
  static Instant resumesAt(Instant now) {
    return LocalDate.ofInstant(now, ZoneOffset.UTC)
        .plusDays(1)
        .atStartOfDay()
        .toInstant(ZoneOffset.UTC);
  }

  /** Held tickets bring the batch back just after midnight; otherwise its events do. */
  static Optional<Duration> wakeUp(WorkQueue.Counts counts, Instant now) {
    return counts.held() > 0
        ? Optional.of(Duration.between(now, resumesAt(now)).plusSeconds(1))
        : Optional.empty();
  }
}
