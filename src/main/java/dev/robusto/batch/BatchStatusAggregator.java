package dev.robusto.batch;

import dev.robusto.batch.AutomationBatchStatus.Counts;
import dev.robusto.batch.AutomationBatchStatus.Phase;
import dev.robusto.batch.AutomationBatchStatus.WorkerJob;
import dev.robusto.operator.Conditions;
import dev.robusto.operator.StatusWrites;
import dev.robusto.queue.WorkQueue;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Set;

/**
 * A batch's status from what the reconciler found: phase, counts, workers, Jobs and conditions
 * (Ready, Throttled, Complete, and Stalled while it waits for a person), each with a reason and a
 * message that says what happens next.
 */
final class BatchStatusAggregator {

  static final String READY = "Ready";
  static final String THROTTLED = "Throttled";
  static final String COMPLETE = "Complete";

  /** What the reconciler found. {@code job} is the newest worker Job, or null. */
  record Facts(
      String tenant,
      WorkQueue.Counts counts,
      int workers,
      int maxConcurrentJobs,
      int maxDailyJobs,
      boolean suspended,
      String deployment,
      WorkerJob job,
      String jobFailure,
      Instant resumesAt,
      Instant now,
      Control control) {}

  /**
   * What the batch's own controls did: suspended (spec.suspend), the redrive generation carried
   * out, and the redrive this reconcile made (null: none).
   */
  record Control(
      boolean suspended, long redrivenGeneration, AutomationBatchStatus.Redrive redrive) {
    static final Control NONE = new Control(false, 0, null);
  }

  /**
   * Why a batch cannot start that ends without a person: a merchant or tickets the same GitOps sync
   * may still apply, or a tenant whose database rows follow its namespace. Not stalled; the others
   * (tickets that cannot be read, a Secret the chart forbids) need a person.
   */
  private static final Set<String> WAITING_FOR_AN_OBJECT =
      Set.of("MerchantNotFound", "ItemsSourceNotFound", "ItemsSourceKeyMissing", "TenantNotFound");

  private BatchStatusAggregator() {}

  /** The batch cannot start: no tenant, or its tickets cannot be read. */
  static AutomationBatchStatus pending(
      AutomationBatch batch, String tenant, String reason, String message) {
    // Observed (so kstatus reads its conditions), but this generation's tickets are not read yet.
    var status = carriedOver(batch);
    status.phase = Phase.PENDING;
    status.tenant = tenant;
    var conditions = new ArrayList<Condition>();
    conditions.add(condition(batch, READY, false, reason, message));
    conditions.add(condition(batch, COMPLETE, false, "NotStarted", "The batch has not started."));
    if (!WAITING_FOR_AN_OBJECT.contains(reason)) {
      conditions.add(condition(batch, Conditions.STALLED, true, reason, message));
    }
    status.conditions = conditions;
    return status;
  }

  /**
   * The status after a reconcile that failed (database, API server): everything as it was, but not
   * Ready, with what failed; the framework retries with backoff.
   */
  static AutomationBatchStatus failed(AutomationBatch batch, Exception error) {
    var status =
        StatusWrites.copy(
            batch.getStatus(), AutomationBatchStatus.class, AutomationBatchStatus::new);
    if (status.phase == null) {
      status.phase = Phase.PENDING;
    }
    status.conditions =
        Conditions.notReady(status.conditions, batch.getMetadata().getGeneration(), error);
    return status;
  }

  static AutomationBatchStatus of(AutomationBatch batch, Facts facts) {
    var status = carriedOver(batch);
    status.ingestedGeneration = batch.getMetadata().getGeneration();
    var c = facts.counts();
    status.tenant = facts.tenant();
    status.counts = counts(c);
    status.workers = facts.workers();
    if (facts.job() != null) {
      status.jobs.removeIf(j -> j.name.equals(facts.job().name));
      status.jobs.add(facts.job());
      if (status.startTime == null) {
        status.startTime = facts.now().toString();
      }
    }
    var control = facts.control();
    if (control.redrivenGeneration() > 0) {
      status.redrivenGeneration = control.redrivenGeneration();
    }
    if (control.redrive() != null) {
      status.lastRedrive = control.redrive();
    }
    var verdict = verdict(facts);
    status.phase = verdict.phase();
    var conditions = new ArrayList<Condition>();
    conditions.add(condition(batch, READY, verdict.ready(), verdict.reason(), verdict.message()));
    conditions.add(
        verdict.complete()
            ? condition(batch, COMPLETE, true, verdict.reason(), verdict.message())
            : condition(
                batch,
                COMPLETE,
                false,
                "InProgress",
                "%d of %d tickets finished.".formatted(c.finished(), c.total())));
    conditions.add(throttled(batch, status, facts));
    if (status.phase == Phase.FAILED) {
      var whatToDo =
          "WorkerJobFailed".equals(verdict.reason())
              ? ""
              : c.deadLettered() > 0
                  ? (" No ticket succeeded: once the cause in the dead letters' last errors is"
                          + " fixed, raise spec.redriveGeneration to send the %d again.")
                      .formatted(c.deadLettered())
                  : " No ticket succeeded: the portal refused every one for good (each ticket's"
                      + " last error says why); fix them and submit them again.";
      conditions.add(
          condition(
              batch, Conditions.STALLED, true, verdict.reason(), verdict.message() + whatToDo));
    }
    if (status.phase.finished() && status.completionTime == null) {
      status.completionTime = facts.now().toString();
    } else if (!status.phase.finished()) {
      status.completionTime = null; // redriven: it finishes again later
    }
    status.conditions = conditions;
    return status;
  }

  /** The phase and what Ready says about it; {@code complete}: nothing more will happen. */
  private record Verdict(
      Phase phase, boolean ready, String reason, String message, boolean complete) {}

  private static Verdict verdict(Facts facts) {
    var c = facts.counts();
    var jobRunning = facts.job() != null && "Running".equals(facts.job().state);
    if (c.held() == 0 && c.live() == 0 && !jobRunning) {
      var phase =
          c.failed() + c.deadLettered() == 0
              ? Phase.SUCCEEDED
              : c.succeeded() == 0 ? Phase.FAILED : Phase.PARTIALLY_FAILED;
      var message =
          "%d of %d tickets succeeded, %d failed, %d dead-lettered%s."
              .formatted(
                  c.succeeded(),
                  c.total(),
                  c.failed(),
                  c.deadLettered(),
                  c.cancelled() == 0 ? "" : ", %d cancelled".formatted(c.cancelled()));
      var everyOneCancelled = c.cancelled() > 0 && c.cancelled() == c.total();
      return new Verdict(
          phase, true, everyOneCancelled ? "Cancelled" : phase.toString(), message, true);
    }
    if (facts.jobFailure() != null && c.live() > 0) {
      var message =
          facts.jobFailure()
              + " %d tickets were not processed; check the worker pods' logs, then delete and"
                  .formatted(c.live() + c.held())
              + " re-create the batch (tickets that succeeded are not processed again).";
      return new Verdict(Phase.FAILED, false, "WorkerJobFailed", message, true);
    }
    if (facts.control().suspended()) {
      return new Verdict(
          Phase.SUSPENDED,
          true,
          "Suspended",
          ("spec.suspend is true: no worker claims the batch's tickets (%d pending, %d not yet"
                  + " admitted%s). Set spec.suspend to false to resume.")
              .formatted(
                  c.pending(),
                  c.held(),
                  jobRunning && facts.job().active > 0
                      ? "; %d workers finish the tickets they hold, then exit"
                          .formatted(facts.job().active)
                      : ""),
          false);
    }
    if (c.live() == 0 && !jobRunning) {
      return new Verdict(
          Phase.THROTTLED, true, "DailyQuotaExhausted", "Waiting for the daily quota.", false);
    }
    if (facts.deployment() != null) {
      return new Verdict(
          Phase.RUNNING,
          true,
          "HandedToFleet",
          "The fleet of AutomationDeployment %s processes the tickets; %d pending, %d running."
              .formatted(facts.deployment(), c.pending(), c.running()),
          false);
    }
    if (jobRunning && facts.job().active > 0) {
      var message =
          c.live() == 0
              ? "Every admitted ticket is finished; %d workers are exiting."
                  .formatted(facts.job().active)
              : "%d workers processing; %d tickets pending, %d running."
                  .formatted(facts.job().active, c.pending(), c.running());
      return new Verdict(Phase.RUNNING, true, "Running", message, false);
    }
    return queued(facts);
  }

  /** Admitted tickets and no worker running them yet: why. */
  private static Verdict queued(Facts facts) {
    if (facts.suspended()) {
      return new Verdict(
          Phase.QUEUED,
          true,
          "TenantSuspended",
          "Tenant " + facts.tenant() + " is suspended; its batches wait until resumed.",
          false);
    }
    if (facts.workers() == 0) {
      return new Verdict(
          Phase.QUEUED,
          true,
          "ConcurrencyLimit",
          ("Waiting for a worker: the %d concurrent workers of tenant %s are in use by"
                  + " batches of higher priority or created earlier.")
              .formatted(facts.maxConcurrentJobs(), facts.tenant()),
          false);
    }
    return new Verdict(
        Phase.QUEUED,
        true,
        "WorkersStarting",
        "%d workers starting.".formatted(facts.workers()),
        false);
  }

  /** Whether tickets wait for tomorrow's quota, and when they resume (into the status too). */
  private static Condition throttled(
      AutomationBatch batch, AutomationBatchStatus status, Facts facts) {
    var held = facts.counts().held();
    if (held > 0 && facts.control().suspended()) {
      status.resumesAt = null;
      return condition(
          batch,
          THROTTLED,
          false,
          "Suspended",
          "%d tickets are not admitted while the batch is suspended.".formatted(held));
    }
    if (held == 0) {
      status.resumesAt = null;
      return condition(
          batch, THROTTLED, false, "Admitted", "Every ticket is within the daily quota.");
    }
    status.resumesAt = facts.resumesAt().toString();
    return condition(
        batch,
        THROTTLED,
        true,
        "DailyQuotaExhausted",
        ("%d tickets wait for tenant %s's daily quota (maxDailyJobs %d, all admitted today);"
                + " they resume at %s.")
            .formatted(held, facts.tenant(), facts.maxDailyJobs(), facts.resumesAt()));
  }

  private static AutomationBatchStatus carriedOver(AutomationBatch batch) {
    var status = new AutomationBatchStatus();
    status.observedGeneration = batch.getMetadata().getGeneration();
    var old = batch.getStatus();
    if (old != null) {
      status.ingestedGeneration = BatchDecision.ingestedGeneration(old);
      status.jobs = new ArrayList<>(old.jobs);
      status.startTime = old.startTime;
      status.completionTime = old.completionTime;
      status.counts = old.counts;
      status.workers = old.workers;
      status.redrivenGeneration = old.redrivenGeneration;
      status.lastRedrive = old.lastRedrive;
    }
    return status;
  }

  private static Counts counts(WorkQueue.Counts c) {
    var counts = new Counts();
    counts.total = c.total();
    counts.throttled = c.held();
    counts.pending = c.pending();
    counts.running = c.running();
    counts.succeeded = c.succeeded();
    counts.failed = c.failed();
    counts.deadLettered = c.deadLettered();
    counts.cancelled = c.cancelled();
    return counts;
  }

  private static Condition condition(
      AutomationBatch batch, String type, boolean status, String reason, String message) {
    return Conditions.of(
        batch.getStatus() == null ? null : batch.getStatus().conditions,
        batch.getMetadata().getGeneration(),
        type,
        status,
        reason,
        message);
  }
}
