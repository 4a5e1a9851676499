package dev.robusto.batch;

import dev.robusto.batch.AutomationBatchStatus.WorkerJob;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.StatusWrites;
import dev.robusto.store.AuditCanonical;
import dev.robusto.store.AuditEntry;
import dev.robusto.store.AuditLog;
import dev.robusto.store.BatchStore;
import dev.robusto.store.DailyLedger;
import dev.robusto.store.WorkQueue;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

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

  public AutomationBatchReconciler(
      WorkQueue queue,
      DailyLedger ledger,
      BatchStore store,
      BatchSettings settings,
      AuditLog audit) {
    this.queue = queue;
    this.ledger = ledger;
    this.store = store;
    this.settings = settings;
    this.audit = audit;
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
    return List.of(jobs, BatchProgress.source(store, settings.progressPollInterval()));
  }

  @Override
  public UpdateControl<AutomationBatch> reconcile(
      AutomationBatch batch, Context<AutomationBatch> context) throws SQLException {
    var namespace = batch.getMetadata().getNamespace();
    var id = UUID.fromString(batch.getMetadata().getUid());
    if (finished(batch)) {
      // Terminal and its spec unchanged: nothing to read or share out, only Jobs left to remove.
      deleteJobs(batch, context);
      return UpdateControl.noUpdate();
    }
    var tenant = store.tenantOfNamespace(namespace);
    if (tenant.isEmpty()) {
      writeStatus(
          batch,
          context,
          b ->
              BatchStatusAggregator.pending(
                  b,
                  null,
                  "TenantNotFound",
                  "Namespace "
                      + namespace
                      + " belongs to no Tenant; create batches in a tenant's namespace."));
      return UpdateControl.<AutomationBatch>noUpdate().rescheduleAfter(PENDING_RECHECK);
    }
    var limits = tenant.get();
    if (!ingested(batch)) {
      try {
        ingest(batch, id, limits, context.getClient());
      } catch (BatchItems.UnreadableItems e) {
        writeStatus(
            batch,
            context,
            b -> BatchStatusAggregator.pending(b, limits.tenantId(), e.reason, e.getMessage()));
        return UpdateControl.<AutomationBatch>noUpdate().rescheduleAfter(PENDING_RECHECK);
      }
    }
    var today = LocalDate.now(ZoneOffset.UTC);
    var counts = queue.counts(id);
    if (counts.held() > 0
        && ledger.admit(id, limits.tenantId(), today, limits.maxDailyJobs()) > 0) {
      counts = queue.counts(id);
    }

    var job = newestJob(context);
    var jobState = job == null ? null : state(job);
    if (job != null && !"Running".equals(jobState)) {
      store.releaseWorkers(id);
    }
    var fleet = batch.getSpec().deployment;
    var workers =
        fleet != null
            ? 0
            : store
                .allocate(limits.tenantId(), limits.suspended() ? 0 : limits.maxConcurrentJobs())
                .getOrDefault(id, 0);
    String jobFailure = null;
    if (fleet != null) {
      // The deployment's fleet claims the admitted tickets; nothing to start here.
    } else if ("Failed".equals(jobState)) {
      jobFailure = "Worker Job " + job.getMetadata().getName() + " failed: " + failure(job) + ".";
    } else if (counts.live() > 0 && workers > 0) {
      job = ensureJob(batch, job, jobState, workers, limits, context.getClient());
    }
    var resumesAt = today.plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC);
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
            jobFailure,
            resumesAt,
            Instant.now());
    var next = BatchStatusAggregator.of(batch, facts);
    var finished = BatchStatusAggregator.FINISHED.contains(next.phase);
    store.recordPhase(id, next.phase, finished);
    if (finished) {
      deleteJobs(batch, context);
    }
    writeStatus(batch, context, b -> BatchStatusAggregator.of(b, facts));
    var control = UpdateControl.<AutomationBatch>noUpdate();
    if (counts.held() > 0) {
      control.rescheduleAfter(Duration.between(Instant.now(), resumesAt).plusSeconds(1));
    }
    return control;
  }

  /** The batch row and the queued items go; so do the Jobs, by garbage collection. */
  @Override
  public DeleteControl cleanup(AutomationBatch batch, Context<AutomationBatch> context)
      throws SQLException {
    store.delete(UUID.fromString(batch.getMetadata().getUid()));
    record(
        "delete",
        resourceName(batch),
        batch.getStatus() == null ? null : batch.getStatus().tenant,
        null);
    return DeleteControl.defaultDelete();
  }

  /** States are hashed, as everywhere in the audit log. */
  private void record(String action, String resource, String tenantId, String after) {
    audit.append(
        new AuditEntry(ACTOR, action, resource, tenantId, null, AuditCanonical.stateHash(after)));
  }

  private static String resourceName(AutomationBatch batch) {
    return "AutomationBatch/"
        + batch.getMetadata().getNamespace()
        + "/"
        + batch.getMetadata().getName();
  }

  private static boolean finished(AutomationBatch batch) {
    return ingested(batch) && BatchStatusAggregator.FINISHED.contains(batch.getStatus().phase);
  }

  private static boolean ingested(AutomationBatch batch) {
    var status = batch.getStatus();
    return status != null
        && status.counts != null
        && batch.getMetadata().getGeneration().equals(status.observedGeneration);
  }

  private void ingest(
      AutomationBatch batch, UUID id, BatchStore.TenantLimits limits, KubernetesClient client)
      throws SQLException, BatchItems.UnreadableItems {
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
            spec.deployment));
    var added = queue.enqueue(id, limits.tenantId(), spec.priority.value(), items);
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
      record("create", resourceName(batch) + "/items", limits.tenantId(), "queued=" + added);
    }
  }

  private static Job newestJob(Context<AutomationBatch> context) {
    return context.getSecondaryResources(Job.class).stream()
        .max(Comparator.comparing(j -> j.getMetadata().getCreationTimestamp()))
        .orElse(null);
  }

  /** Creates the next round's Job, or grows the running one to the workers the batch holds. */
  private Job ensureJob(
      AutomationBatch batch,
      Job current,
      String currentState,
      int workers,
      BatchStore.TenantLimits limits,
      KubernetesClient client) {
    if (current != null && "Running".equals(currentState)) {
      if (current.getSpec().getParallelism() >= workers) {
        return current;
      }
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
    var round = batch.getStatus() == null ? 1 : batch.getStatus().jobs.size() + 1;
    var job = BatchWorkerJob.desired(batch, round, workers, limits, settings);
    var created = client.resource(job).create();
    event(
        client,
        batch,
        KubeEvents.NORMAL,
        "WorkersStarted",
        "Job %s started with %d workers.".formatted(job.getMetadata().getName(), workers));
    record(
        "create",
        "Job/" + job.getMetadata().getNamespace() + "/" + job.getMetadata().getName(),
        limits.tenantId(),
        "parallelism=" + workers);
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
            w -> {
              var before = w.before() == null ? null : w.before().phase;
              if (!w.after().phase.equals(before)) {
                var ready =
                    w.after().conditions.stream()
                        .filter(c -> c.getType().equals(BatchStatusAggregator.READY))
                        .findFirst()
                        .orElseThrow();
                var warning = "False".equals(ready.getStatus()) || "Failed".equals(w.after().phase);
                event(
                    context.getClient(),
                    batch,
                    warning ? KubeEvents.WARNING : KubeEvents.NORMAL,
                    w.after().phase,
                    ready.getMessage());
              }
            });
  }

  private static void event(
      KubernetesClient client, AutomationBatch batch, String type, String reason, String message) {
    KubeEvents.record(
        client,
        batch.getMetadata().getNamespace(),
        new ObjectReferenceBuilder()
            .withApiVersion(batch.getApiVersion())
            .withKind(batch.getKind())
            .withNamespace(batch.getMetadata().getNamespace())
            .withName(batch.getMetadata().getName())
            .withUid(batch.getMetadata().getUid())
            .build(),
        type,
        reason,
        message);
  }
}
