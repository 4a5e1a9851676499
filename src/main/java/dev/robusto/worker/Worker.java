package dev.robusto.worker;

import dev.robusto.queue.WorkQueue;
import dev.robusto.queue.WorkQueue.Claim;
import dev.robusto.tenant.PayloadCipher;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

/**
 * One worker of a batch: claims items, processes them, records each outcome with the claim's token,
 * and heartbeats its leases meanwhile. While nothing is due it rescues expired leases of its batch
 * (a dead peer's items) and it exits once the batch has nothing pending or running, which is when
 * the Job may complete. A fleet worker (of an AutomationDeployment) serves every batch handed to
 * its deployment and runs until stopped. Every worker records each attempt's duration (a fleet
 * worker's with its revision, for canary analysis) and reports its circuit breakers' states. {@link
 * #stop()} (SIGTERM) finishes the item in hand, gives the rest of the claim back unattempted,
 * records what is done and returns. A database outage is waited out for up to {@link
 * #DATABASE_PATIENCE} ({@link DatabaseRetry}).
 */
public final class Worker {

  private static final Logger LOG = Logger.getLogger(Worker.class);

  /** How long an idle worker waits before it asks for work again. */
  public static final Duration IDLE_POLL = Duration.ofMillis(250);

  private static final Duration DEFERRAL = Duration.ofSeconds(5);

  /** How long a database outage may last before the worker gives up (and its pod is replaced). */
  static final Duration DATABASE_PATIENCE = Duration.ofMinutes(2);

  /** What this worker did, for its last log line. */
  public record Summary(long succeeded, long failed, long retried, long fenced, long released) {}

  private final WorkQueue queue;
  private final ItemProcessor processor;
  private final SealedPayloads payloads;
  private final WorkerConfig config;
  private final String name;
  private final RateLimiter limiter;
  private final WorkerHealth health;
  private final CircuitReports circuits;
  private final java.util.Optional<MerchantReports> merchant;
  private final DatabaseRetry retry = new DatabaseRetry(DATABASE_PATIENCE);
  private final Set<Claim> held = ConcurrentHashMap.newKeySet();
  private final Set<Long> lost = ConcurrentHashMap.newKeySet();
  private final CountDownLatch finished = new CountDownLatch(1);
  private volatile boolean stopping;
  private long succeeded;
  private long failed;
  private long retried;
  private long fenced;
  private long released;

  Worker(
      WorkQueue queue,
      ItemProcessor processor,
      SealedPayloads payloads,
      WorkerConfig config,
      String name,
      WorkerHealth health) {
    this.queue = queue;
    this.processor = processor;
    this.payloads = payloads;
    this.config = config;
    this.name = name;
    this.health = health;
    this.limiter = new RateLimiter(config.requestsPerMinute());
    this.circuits = new CircuitReports(queue, name, processor, System::nanoTime);
    this.merchant =
        processor.merchantCalls().map(calls -> new MerchantReports(queue, calls, System::nanoTime));
  }

  /** Works until the batch has no live items left, or until stopped. */
  public Summary run() throws SQLException, InterruptedException {
    var lease = Duration.ofMillis(config.leaseMillis());
    ScheduledExecutorService heartbeats =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              var t = new Thread(r, "heartbeat");
              t.setDaemon(true);
              return t;
            });
    var every = Math.max(1, config.leaseMillis() / 3);
    heartbeats.scheduleWithFixedDelay(() -> heartbeat(lease), every, every, TimeUnit.MILLISECONDS);
    var check = CircuitReports.CHECK.toMillis();
    heartbeats.scheduleWithFixedDelay(circuits::check, check, check, TimeUnit.MILLISECONDS);
    var report = MerchantReports.EVERY.toMillis();
    merchant.ifPresent(
        m -> heartbeats.scheduleWithFixedDelay(m::check, report, report, TimeUnit.MILLISECONDS));
    try {
      var fleet = config.fleet();
      while (!stopping) {
        var claims =
            retry.call(
                "claim",
                () ->
                    fleet == null
                        ? queue.claim(config.batchId(), name, config.claimSize(), lease)
                        : queue.claimForDeployment(
                            fleet.deployment(), name, config.claimSize(), lease));
        health.progress();
        if (claims.isEmpty()) {
          if (fleet != null) {
            retry.call("rescue", () -> queue.rescueExpiredForDeployment(fleet.deployment()));
          } else {
            retry.call("rescue", () -> queue.rescueExpired(config.batchId()));
            if (retry.call("progress", () -> queue.liveItems(config.batchId())) == 0) {
              break;
            }
          }
          Thread.sleep(IDLE_POLL.toMillis());
          continue;
        }
        held.addAll(claims);
        work(claims);
      }
      return new Summary(succeeded, failed, retried, fenced, released);
    } finally {
      heartbeats.shutdownNow();
      try {
        heartbeats.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        circuits.withdraw();
        merchant.ifPresent(MerchantReports::flush);
        finished.countDown();
      }
    }
  }

  /** Asks the worker to stop and waits (up to {@code grace}) until it has. */
  public boolean stop(Duration grace) throws InterruptedException {
    stopping = true;
    return finished.await(grace.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void work(List<Claim> claims) throws SQLException, InterruptedException {
    var done = new ArrayList<Claim>();
    var deferred = new ArrayList<Claim>();
    var attempts = new ArrayList<WorkQueue.Attempt>();
    for (var i = 0; i < claims.size(); i++) {
      var claim = claims.get(i);
      if (stopping) {
        var rest = claims.subList(i, claims.size());
        released += retry.call("release", () -> queue.release(rest, Duration.ZERO)).size();
        break;
      }
      if (lost.contains(claim.itemId())) {
        continue;
      }
      limiter.acquire();
      MDC.put(WorkerLogFormat.TICKET, claim.key());
      try {
        var startedAt = java.time.Instant.now();
        var started = System.nanoTime();
        var result = process(claim);
        var step =
            switch (result.verdict()) {
              case SUCCEEDED -> WorkQueue.Step.SUCCEEDED;
              case RETRY -> WorkQueue.Step.FAILED;
              case PERMANENT_FAILURE -> WorkQueue.Step.REFUSED;
              case DEFERRED -> null; // not attempted: the attempt is given back
            };
        if (step != null) {
          attempts.add(
              new WorkQueue.Attempt(
                  claim,
                  startedAt,
                  (System.nanoTime() - started) / 1_000_000,
                  step,
                  result.detail()));
        }
        switch (result.verdict()) {
          case SUCCEEDED -> done.add(claim);
          case DEFERRED -> deferred.add(claim);
          case RETRY, PERMANENT_FAILURE -> recordFailure(claim, result);
        }
        health.progress();
      } finally {
        MDC.remove(WorkerLogFormat.TICKET);
      }
    }
    recordBatch(done, deferred, attempts);
    held.removeAll(claims);
  }

  /** The attempt; a payload that does not open yet is a failure to retry, never sent sealed. */
  private ItemProcessor.Result process(Claim claim) throws SQLException {
    String payload;
    try {
      payload = payloads.open(claim.payloadJson());
    } catch (PayloadCipher.UnreadablePayloadException e) {
      LOG.warnf("ticket's payload unreadable: %s", e.getMessage());
      return new ItemProcessor.Result(ItemProcessor.Verdict.RETRY, e.getMessage());
    }
    return processor.process(claim.key(), payload, claim.attempts());
  }

  private void recordFailure(Claim claim, ItemProcessor.Result result)
      throws SQLException, InterruptedException {
    var outcome =
        retry.call(
            "record a failure",
            () ->
                queue.fail(
                    claim,
                    result.detail(),
                    result.verdict() == ItemProcessor.Verdict.PERMANENT_FAILURE,
                    config.retry()));
    switch (outcome) {
      case RETRY_SCHEDULED -> retried++;
      case FENCED -> fenced++;
      default -> {
        failed++;
        // The outcome and the attempt, never the portal's answer: it may echo the payload.
        LOG.infof("ticket %s after attempt %d", outcome, claim.attempts());
      }
    }
    held.remove(claim);
  }

  /**
   * Successes in one statement, deferred tickets back to the queue, attempts for the latency
   * histogram (and a fleet's canary).
   */
  private void recordBatch(List<Claim> done, List<Claim> deferred, List<WorkQueue.Attempt> attempts)
      throws SQLException, InterruptedException {
    if (!done.isEmpty()) {
      var recorded = retry.call("record successes", () -> queue.succeedAll(done));
      succeeded += recorded.size();
      fenced += done.size() - recorded.size();
    }
    if (!deferred.isEmpty()) {
      released += retry.call("release", () -> queue.release(deferred, DEFERRAL)).size();
    }
    var fleet = config.fleet();
    // Attempts are figures and history, not outcomes: a retry after a lost answer may count a few
    // twice in the histogram (a step is kept once), never a ticket.
    try {
      retry.call(
          "record attempts",
          () -> {
            if (fleet == null) {
              queue.recordAttempts(null, null, attempts);
            } else {
              queue.recordAttempts(fleet.deployment(), fleet.revision(), attempts);
            }
            return null;
          });
    } catch (SQLException e) {
      if (DatabaseRetry.isTransient(e)) {
        throw e; // the outage outlasted the patience: the worker exits as for any other call
      }
      // Figures: a refusal (a schema rolled back under this worker) loses them, not the tickets.
      LOG.warnf("could not record %d attempts: %s", attempts.size(), e.getMessage());
    }
  }

  private void heartbeat(Duration lease) {
    var claims = List.copyOf(held);
    if (claims.isEmpty()) {
      return;
    }
    try {
      var kept = queue.heartbeatAll(claims, lease);
      for (var claim : claims) {
        if (!kept.contains(claim.itemId()) && held.contains(claim)) {
          lost.add(claim.itemId());
        }
      }
    } catch (SQLException e) {
      LOG.warnf("heartbeat failed (%s); the leases run on until the next one", e.getMessage());
    }
  }
}
