package dev.robusto.batch;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.AutomationBatchStatus.Counts;
import dev.robusto.batch.AutomationBatchStatus.WorkerJob;
import dev.robusto.operator.Conditions;
import dev.robusto.store.WorkQueue;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A batch's status from what the reconciler found: phase, counts, workers, Jobs and conditions
 * (Ready, Throttled, Complete), each with a reason and a message that says what happens next.
 */
final class BatchStatusAggregator {

  static final String READY = "Ready";
  static final String THROTTLED = "Throttled";
  static final String COMPLETE = "Complete";
  static final Set<String> FINISHED = Set.of("Succeeded", "PartiallyFailed", "Failed");

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
      Instant now) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private BatchStatusAggregator() {}

  /** The batch cannot start: no tenant, or its tickets cannot be read. */
  static AutomationBatchStatus pending(
      AutomationBatch batch, String tenant, String reason, String message) {
    var status = carriedOver(batch);
    // This generation's tickets are not read yet: the status must not claim it observed them.
    status.observedGeneration =
        batch.getStatus() == null ? null : batch.getStatus().observedGeneration;
    status.phase = "Pending";
    status.tenant = tenant;
    status.conditions =
        List.of(
            condition(batch, READY, false, reason, message),
            condition(batch, COMPLETE, false, "NotStarted", "The batch has not started."));
    return status;
  }

  /**
   * The status after a reconcile that failed (database, API server): everything as it was, but not
   * Ready, with what failed; the framework retries with backoff.
   */
  static AutomationBatchStatus failed(AutomationBatch batch, Exception error) {
    var status =
        batch.getStatus() == null
            ? new AutomationBatchStatus()
            : JSON.convertValue(batch.getStatus(), AutomationBatchStatus.class);
    if (status.phase == null) {
      status.phase = "Pending";
    }
    status.conditions =
        Conditions.notReady(status.conditions, batch.getMetadata().getGeneration(), error);
    return status;
  }

  static AutomationBatchStatus of(AutomationBatch batch, Facts facts) {
    var status = carriedOver(batch);
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
    var conditions = new ArrayList<Condition>();
    var jobRunning = facts.job() != null && "Running".equals(facts.job().state);
    if (c.held() == 0 && c.live() == 0 && !jobRunning) {
      status.phase =
          c.failed() + c.deadLettered() == 0
              ? "Succeeded"
              : c.succeeded() == 0 ? "Failed" : "PartiallyFailed";
      var message =
          "%d of %d tickets succeeded, %d failed, %d dead-lettered."
              .formatted(c.succeeded(), c.total(), c.failed(), c.deadLettered());
      conditions.add(condition(batch, READY, true, status.phase, message));
      conditions.add(condition(batch, COMPLETE, true, status.phase, message));
    } else if (facts.jobFailure() != null && c.live() > 0) {
      status.phase = "Failed";
      var message =
          facts.jobFailure()
              + " %d tickets were not processed; check the worker pods' logs, then delete and"
                  .formatted(c.live() + c.held())
              + " re-create the batch (tickets that succeeded are not processed again).";
      conditions.add(condition(batch, READY, false, "WorkerJobFailed", message));
      conditions.add(condition(batch, COMPLETE, true, "WorkerJobFailed", message));
    } else {
      String reason;
      String message;
      if (c.live() == 0 && !jobRunning) {
        status.phase = "Throttled";
        reason = "DailyQuotaExhausted";
        message = "Waiting for the daily quota.";
      } else if (facts.deployment() != null) {
        status.phase = "Running";
        reason = "HandedToFleet";
        message =
            "The fleet of AutomationDeployment %s processes the tickets; %d pending, %d running."
                .formatted(facts.deployment(), c.pending(), c.running());
      } else if (jobRunning && facts.job().active > 0) {
        status.phase = "Running";
        reason = "Running";
        message =
            c.live() == 0
                ? "Every admitted ticket is finished; %d workers are exiting."
                    .formatted(facts.job().active)
                : "%d workers processing; %d tickets pending, %d running."
                    .formatted(facts.job().active, c.pending(), c.running());
      } else {
        status.phase = "Queued";
        if (facts.suspended()) {
          reason = "TenantSuspended";
          message = "Tenant " + facts.tenant() + " is suspended; its batches wait until resumed.";
        } else if (facts.workers() == 0) {
          reason = "ConcurrencyLimit";
          message =
              ("Waiting for a worker: the %d concurrent workers of tenant %s are in use by"
                      + " batches of higher priority or created earlier.")
                  .formatted(facts.maxConcurrentJobs(), facts.tenant());
        } else {
          reason = "WorkersStarting";
          message = "%d workers starting.".formatted(facts.workers());
        }
      }
      conditions.add(condition(batch, READY, true, reason, message));
      conditions.add(
          condition(
              batch,
              COMPLETE,
              false,
              "InProgress",
              "%d of %d tickets finished.".formatted(c.finished(), c.total())));
    }
    if (c.held() > 0) {
      status.resumesAt = facts.resumesAt().toString();
      conditions.add(
          condition(
              batch,
              THROTTLED,
              true,
              "DailyQuotaExhausted",
              ("%d tickets wait for tenant %s's daily quota (maxDailyJobs %d, all admitted today);"
                      + " they resume at %s.")
                  .formatted(c.held(), facts.tenant(), facts.maxDailyJobs(), facts.resumesAt())));
    } else {
      status.resumesAt = null;
      conditions.add(
          condition(
              batch, THROTTLED, false, "Admitted", "Every ticket is within the daily quota."));
    }
    if (FINISHED.contains(status.phase) && status.completionTime == null) {
      status.completionTime = facts.now().toString();
    }
    status.conditions = conditions;
    return status;
  }

  private static AutomationBatchStatus carriedOver(AutomationBatch batch) {
    var status = new AutomationBatchStatus();
    status.observedGeneration = batch.getMetadata().getGeneration();
    var old = batch.getStatus();
    if (old != null) {
      status.jobs = new ArrayList<>(old.jobs);
      status.startTime = old.startTime;
      status.completionTime = old.completionTime;
      status.counts = old.counts;
      status.workers = old.workers;
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
