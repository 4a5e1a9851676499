package dev.robusto.batch;

import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.batch.AutomationBatchStatus.WorkerJob;
import dev.robusto.merchant.Merchant;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.LogContext;
import dev.robusto.operator.StatusWrites;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.PayloadKeys;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs an AutomationBatch: ingests its tickets into the queue (idempotently), admits them against
 * the tenant's daily quota, shares the tenant's concurrency cap among its batches and sizes the
 * worker Job to the share, and reports progress polled from PostgreSQL. Database failures are
 * retried with backoff (1 s doubling to 1 min, never giving up).
 */
@ControllerConfiguration(
    name = "automationbatch",
    maxReconciliationInterval =
        @MaxReconciliationInterval(interval = 5, timeUnit = TimeUnit.MINUTES))
@GradualRetry(
    maxAttempts = -1,
    initialInterval = 1_000,
    intervalMultiplier = 2,
    maxInterval = 60_000)
public class AutomationBatchReconciler
    implements Reconciler<AutomationBatch>, Cleaner<AutomationBatch> {

  static final String WORKER_SELECTOR =
      AutomationBatch.COMPONENT_LABEL + "=" + AutomationBatch.WORKER_COMPONENT;
  private static final String ACTOR = "robusto-operator/automationbatch";
  private static final Duration PENDING_RECHECK = Duration.ofSeconds(15);

  private final WorkQueue queue;
  private final DailyLedger ledger;
  private final BatchStore store;
  private final BatchSettings settings;
  private final AuditLog audit;
  private final Clock clock;
  private final TenantDirectory tenants;
  private final PayloadKeys payloadKeys;
  private InformerEventSource<Merchant, AutomationBatch> merchants;

  public AutomationBatchReconciler(
      WorkQueue queue,
      DailyLedger ledger,
      BatchStore store,
      BatchSettings settings,
      AuditLog audit,
      Clock clock,
      TenantDirectory tenants,
      PayloadKeys payloadKeys) {
    this.queue = queue;
    this.ledger = ledger;
    this.store = store;
    this.settings = settings;
    this.audit = audit;
    this.clock = clock;
    this.tenants = tenants;
    this.payloadKeys = payloadKeys;
  }

  @Override
  public List<EventSource<?, AutomationBatch>> prepareEventSources(
      EventSourceContext<AutomationBatch> context) {
    var jobs =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Job.class, AutomationBatch.class)
                .withLabelSelector(WORKER_SELECTOR)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(AutomationBatch.class))
                .build(),
            context);
    // A Merchant that appears, goes or changes its spec wakes the batches that name it; its status
    // (rewritten every poll) does not.
    merchants =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Merchant.class, AutomationBatch.class)
                .withOnUpdateFilter(
                    (changed, before) ->
                        !java.util.Objects.equals(
                            changed.getMetadata().getGeneration(),
                            before.getMetadata().getGeneration()))
                .withSecondaryToPrimaryMapper(
                    merchant ->
                        context
                            .getPrimaryCache()
                            .list(
                                merchant.getMetadata().getNamespace(),
                                b -> merchant.getMetadata().getName().equals(merchantName(b)))
                            .map(ResourceID::fromResource)
                            .collect(Collectors.toSet()))
                .build(),
            context);
    return List.of(jobs, merchants, BatchProgress.source(store, settings.progressPollInterval()));
  }

  /** The Merchant a batch's http processor names, or null. */
  private static String merchantName(AutomationBatch batch) {
    var processor = batch.getSpec().processor;
    return processor == null || processor.http == null ? null : processor.http.merchant;
  }

  @Override
  public UpdateControl<AutomationBatch> reconcile(
      AutomationBatch batch, Context<AutomationBatch> context) throws SQLException {
    try {
      return reconcileForTenant(batch, context);
    } finally {
      LogContext.clear();
    }
  }

  private UpdateControl<AutomationBatch> reconcileForTenant(
      AutomationBatch batch, Context<AutomationBatch> context) throws SQLException {
    var namespace = batch.getMetadata().getNamespace();
    if (BatchDecision.finished(batch)) {
      deleteJobs(batch, context);
      return UpdateControl.noUpdate();
    }
    var tenant = tenants.ofNamespace(namespace);
    tenant.ifPresent(t -> LogContext.tenant(t.tenantId()));
    if (tenant.isEmpty()) {
      return pending(
          batch,
          context,
          null,
          "TenantNotFound",
          "Namespace "
              + namespace
              + " belongs to no Tenant; create batches in a tenant's namespace.");
    }
    var limits = tenant.get();
    // Before the tickets are read again: a suspension holds even when they cannot be.
    store.suspend(
        UUID.fromString(batch.getMetadata().getUid()),
        Boolean.TRUE.equals(batch.getSpec().suspend));
    Merchant merchant = null;
    var merchantName = merchantName(batch);
    if (merchantName != null) {
      merchant = merchants.get(new ResourceID(merchantName, namespace)).orElse(null);
      if (merchant == null && newestJob(context) == null) {
        // Only a new Job needs it: a running one goes on with the settings it started with.
        return pending(
            batch,
            context,
            limits.tenantId(),
            "MerchantNotFound",
            ("Merchant %s does not exist in namespace %s: create it (examples/local-portals/"
                    + " shows three) or name one that does in spec.processor.http.merchant.")
                .formatted(merchantName, namespace));
      }
    }
    if (BatchDecision.needsIngest(batch)) {
      try {
        ingest(batch, limits, context.getClient());
      } catch (BatchItems.UnreadableItems e) {
        return pending(batch, context, limits.tenantId(), e.reason, e.getMessage());
      }
    }
    return run(batch, limits, merchant, context);
  }

  /**
   * Gathers what the database arbitrates (today's quota, the batch's share of workers) and the
   * newest Job, decides the Job's move ({@link BatchDecision}), carries it out, then writes the
   * status the aggregator makes of it all; a finished batch's Jobs are removed.
   */
  private UpdateControl<AutomationBatch> run(
      AutomationBatch batch,
      TenantDirectory.Entry limits,
      Merchant merchant,
      Context<AutomationBatch> context)
      throws SQLException {
    var id = UUID.fromString(batch.getMetadata().getUid());
    var now = clock.instant();
    var control = redrive(batch, id, limits, context.getClient(), now);
    // Suspended, held tickets take none of today's quota.
    var counts = control.suspended() ? queue.counts(id) : admitted(id, limits, now);
    var job = newestJob(context);
    var jobState = job == null ? null : state(job);
    if (BatchDecision.releasesWorkers(jobState)) {
      store.releaseWorkers(id);
    }
    var fleet = batch.getSpec().deployment;
    // A fleet's batch wants none of the tenant's workers: its fleet claims the tickets. A suspended
    // batch wants none either, and keeps what it holds until its Job's pods are gone.
    var workers = fleet != null ? 0 : share(id, limits);
    var move =
        BatchDecision.jobMove(
            fleet != null,
            control.suspended(),
            jobState,
            job == null ? null : job.getSpec().getParallelism(),
            counts.live(),
            workers);
    if (move == BatchDecision.JobMove.START && merchantName(batch) != null && merchant == null) {
      return pending(
          batch,
          context,
          limits.tenantId(),
          "MerchantNotFound",
          ("Merchant %s was deleted from namespace %s: its workers finished with the settings they"
                  + " started with; create it again to go on.")
              .formatted(merchantName(batch), batch.getMetadata().getNamespace()));
    }
    job =
        switch (move) {
          case START -> startJob(batch, workers, limits, merchant, context.getClient());
          case GROW -> growJob(job, workers, context.getClient());
          default -> job;
        };
    var facts =
        new BatchStatusAggregator.Facts(
            limits.tenantId(),
            counts,
            workers,
            limits.maxConcurrentJobs(),
            limits.maxDailyJobs(),
            limits.suspended(),
            fleet,
            job == null ? null : view(job),
            move == BatchDecision.JobMove.REPORT_FAILURE
                ? "Worker Job " + job.getMetadata().getName() + " failed: " + failure(job) + "."
                : null,
            BatchDecision.resumesAt(now),
            now,
            control);
    var next = BatchStatusAggregator.of(batch, facts);
    var finished = next.phase.finished();
    store.recordPhase(id, next.phase.toString(), finished);
    if (finished) {
      deleteJobs(batch, context);
    }
    writeStatus(batch, context, b -> BatchStatusAggregator.of(b, facts));
    var update = UpdateControl.<AutomationBatch>noUpdate();
    BatchDecision.wakeUp(counts, now).ifPresent(update::rescheduleAfter);
    return update;
  }

  /**
   * Carries out spec.redriveGeneration when it is past the status's: the dead letters go back to
   * the queue (once per generation: the database keeps the last one it carried out), with an Event
   * and an audit entry. Returns the batch's controls for its status.
   */
  private BatchStatusAggregator.Control redrive(
      AutomationBatch batch,
      UUID id,
      TenantDirectory.Entry limits,
      KubernetesClient client,
      Instant now)
      throws SQLException {
    var spec = batch.getSpec();
    var suspended = Boolean.TRUE.equals(spec.suspend);
    var wanted = spec.redriveGeneration == null ? 0L : spec.redriveGeneration;
    var status = batch.getStatus();
    var done = status == null || status.redrivenGeneration == null ? 0L : status.redrivenGeneration;
    if (wanted <= done) {
      return new BatchStatusAggregator.Control(suspended, done, null);
    }
    var requeued = queue.redrive(id, wanted);
    if (requeued.isEmpty()) {
      // Carried out by a reconcile that died before its status: only the status is behind.
      return new BatchStatusAggregator.Control(suspended, wanted, null);
    }
    var tickets = requeued.getAsLong();
    event(
        client,
        batch,
        KubeEvents.NORMAL,
        "Redriven",
        tickets == 0
            ? "Redrive %d found no dead-lettered ticket to requeue.".formatted(wanted)
            : ("%d dead-lettered tickets requeued with fresh attempts (redrive %d); they are"
                    + " admitted within the daily quota.")
                .formatted(tickets, wanted));
    record(
        "update",
        Auditor.resource(batch) + "/items",
        limits.tenantId(),
        "redrive=" + wanted + ";requeued=" + tickets);
    return new BatchStatusAggregator.Control(
        suspended, wanted, new AutomationBatchStatus.Redrive(wanted, tickets, now.toString()));
  }

  /** The batch's tickets after held ones asked the daily ledger for today's quota. */
  private WorkQueue.Counts admitted(UUID id, TenantDirectory.Entry limits, Instant now)
      throws SQLException {
    var counts = queue.counts(id);
    var today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    if (BatchDecision.admits(counts)
        && ledger.admit(id, limits.tenantId(), today, limits.maxDailyJobs()) > 0) {
      return queue.counts(id);
    }
    return counts;
  }

  /** The workers the batch holds of its tenant's cap, shared out by the database. */
  private int share(UUID id, TenantDirectory.Entry limits) throws SQLException {
    var cap = limits.suspended() ? 0 : limits.maxConcurrentJobs();
    return store.allocate(limits.tenantId(), cap).getOrDefault(id, 0);
  }

  /** The batch cannot start: says why and what to do, and looks again soon. */
  private UpdateControl<AutomationBatch> pending(
      AutomationBatch batch,
      Context<AutomationBatch> context,
      String tenantId,
      String reason,
      String message) {
    writeStatus(batch, context, b -> BatchStatusAggregator.pending(b, tenantId, reason, message));
    return UpdateControl.<AutomationBatch>noUpdate().rescheduleAfter(PENDING_RECHECK);
  }

  /** A failed reconcile (database, API server) says why in Ready; the framework retries it. */
  @Override
  public ErrorStatusUpdateControl<AutomationBatch> updateErrorStatus(
      AutomationBatch batch, Context<AutomationBatch> context, Exception error) {
    writeStatus(batch, context, b -> BatchStatusAggregator.failed(b, error));
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  /** The batch row and the queued items go; so do the Jobs, by garbage collection. */
  @Override
  public DeleteControl cleanup(AutomationBatch batch, Context<AutomationBatch> context)
      throws SQLException {
    store.delete(UUID.fromString(batch.getMetadata().getUid()));
    record(
        "delete",
        Auditor.resource(batch),
        batch.getStatus() == null ? null : batch.getStatus().tenant,
        null);
    return DeleteControl.defaultDelete();
  }

  /** States are hashed, as everywhere in the audit log. */
  private void record(String action, String resource, String tenantId, String after) {
    new Auditor(audit, ACTOR).record(action, resource, tenantId, null, after);
  }

  private void ingest(AutomationBatch batch, TenantDirectory.Entry limits, KubernetesClient client)
      throws SQLException, BatchItems.UnreadableItems {
    var id = UUID.fromString(batch.getMetadata().getUid());
    var items = BatchItems.resolve(batch, client);
    var spec = batch.getSpec();
    store.upsert(
        new BatchStore.Batch(
            id,
            limits.tenantId(),
            batch.getMetadata().getNamespace(),
            batch.getMetadata().getName(),
            spec.priority.value(),
            spec.maxAttempts,
            // A fleet's batch wants none of the tenant's workers.
            spec.deployment == null ? spec.parallelism : 0,
            spec.deployment,
            Boolean.TRUE.equals(spec.suspend),
            merchantName(batch)));
    var added =
        queue.enqueue(
            id,
            limits.tenantId(),
            spec.priority.value(),
            payloadKeys.seal(limits.tenantId(), items));
    if (added > 0 || batch.getStatus() == null || batch.getStatus().counts == null) {
      var skipped = items.size() - added;
      var message =
          "%d tickets queued%s."
              .formatted(
                  added,
                  skipped == 0
                      ? ""
                      : ", %d skipped: their keys were already submitted by this tenant"
                          .formatted(skipped));
      event(client, batch, KubeEvents.NORMAL, "Ingested", message);
      record("create", Auditor.resource(batch) + "/items", limits.tenantId(), "queued=" + added);
    }
  }

  private static Job newestJob(Context<AutomationBatch> context) {
    return context.getSecondaryResources(Job.class).stream()
        .max(Comparator.comparing(j -> j.getMetadata().getCreationTimestamp()))
        .orElse(null);
  }

  /** The running Job grown to the workers the batch holds now. */
  private static Job growJob(Job current, int workers, KubernetesClient client) {
    return client
        .batch()
        .v1()
        .jobs()
        .inNamespace(current.getMetadata().getNamespace())
        .withName(current.getMetadata().getName())
        .edit(
            j -> {
              j.getSpec().setParallelism(workers);
              return j;
            });
  }

  /** The next round's Job, with the workers the batch holds (and its merchant's settings). */
  private Job startJob(
      AutomationBatch batch,
      int workers,
      TenantDirectory.Entry limits,
      Merchant merchant,
      KubernetesClient client) {
    var round = batch.getStatus() == null ? 1 : batch.getStatus().jobs.size() + 1;
    var job = BatchWorkerJob.desired(batch, round, workers, limits, settings, merchant);
    var created = client.resource(job).create();
    event(
        client,
        batch,
        KubeEvents.NORMAL,
        "WorkersStarted",
        "Job %s started with %d workers.".formatted(job.getMetadata().getName(), workers));
    record("create", Auditor.resource(job), limits.tenantId(), "parallelism=" + workers);
    return created;
  }

  private static void deleteJobs(AutomationBatch batch, Context<AutomationBatch> context) {
    for (var job : context.getSecondaryResources(Job.class)) {
      context
          .getClient()
          .resource(job)
          .withPropagationPolicy(DeletionPropagation.BACKGROUND)
          .delete();
    }
  }

  private static String state(Job job) {
    var conditions = job.getStatus() == null ? null : job.getStatus().getConditions();
    if (conditions != null) {
      for (var c : conditions) {
        if ("True".equals(c.getStatus())
            && ("Complete".equals(c.getType()) || "Failed".equals(c.getType()))) {
          return c.getType();
        }
      }
    }
    return "Running";
  }

  private static String failure(Job job) {
    return job.getStatus().getConditions().stream()
        .filter(c -> "Failed".equals(c.getType()))
        .map(c -> c.getReason() + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")"))
        .findFirst()
        .orElse("unknown reason");
  }

  private static WorkerJob view(Job job) {
    var view = new WorkerJob();
    view.name = job.getMetadata().getName();
    view.parallelism = job.getSpec().getParallelism();
    var status = job.getStatus();
    view.active = status == null || status.getActive() == null ? 0 : status.getActive();
    view.succeeded = status == null || status.getSucceeded() == null ? 0 : status.getSucceeded();
    view.failed = status == null || status.getFailed() == null ? 0 : status.getFailed();
    view.state = state(job);
    return view;
  }

  private static void writeStatus(
      AutomationBatch batch,
      Context<AutomationBatch> context,
      java.util.function.Function<AutomationBatch, AutomationBatchStatus> compute) {
    StatusWrites.write(batch, context, compute, AutomationBatch::new)
        .ifPresent(
            w ->
                KubeEvents.transitions(
                    context.getClient(),
                    batch,
                    w.before() == null ? null : w.before().conditions,
                    w.after().conditions,
                    Set.of(BatchStatusAggregator.READY, BatchStatusAggregator.THROTTLED),
                    BatchStatusAggregator.THROTTLED::equals));
  }

  private static void event(
      KubernetesClient client, AutomationBatch batch, String type, String reason, String message) {
    KubeEvents.record(client, batch, type, reason, message);
  }
}
