package dev.robusto.batch;

import dev.robusto.merchant.Merchant;
import dev.robusto.merchant.MerchantRoute;
import dev.robusto.operator.Durations;
import dev.robusto.operator.Hashes;
import dev.robusto.operator.Owners;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantDirectory;
import dev.robusto.worker.SimulatedProcessor;
import dev.robusto.worker.WorkerConfig;
import dev.robusto.worker.WorkerEnvironment;
import dev.robusto.worker.WorkerMain;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicy;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyBuilder;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * A batch's worker Job: {@code workers} pods of the operator's image in the worker role, with the
 * tenant's database Secret (so row-level security confines them to the tenant) and the batch id. A
 * work-queue Job (no completions): each pod exits 0 once the batch has nothing left, and the Job
 * completes. Failed pods are replaced only once fully terminated, so the pods never outnumber the
 * workers the batch holds of its tenant's cap.
 */
public final class BatchWorkerJob {

  static final String CONTAINER = "worker";
  private static final int BACKOFF_LIMIT = 6;

  private BatchWorkerJob() {}

  /** Job names: the batch's, with the round; shortened with a hash to Kubernetes' 63. */
  static String name(AutomationBatch batch, int round) {
    var suffix = "-" + round;
    var base = batch.getMetadata().getName();
    if (base.length() + suffix.length() <= 63) {
      return base + suffix;
    }
    return base.substring(0, 63 - suffix.length() - 9)
        + "-"
        + Hashes.sha256Hex(base).substring(0, 8)
        + suffix;
  }

  static Map<String, String> labels(AutomationBatch batch) {
    return Map.of(
        Tenant.MANAGED_BY_LABEL,
        Tenant.MANAGED_BY,
        AutomationBatch.COMPONENT_LABEL,
        AutomationBatch.WORKER_COMPONENT,
        AutomationBatch.BATCH_LABEL,
        batch.getMetadata().getName());
  }

  /** The Job; {@code merchant} is the Merchant the batch's http processor names, or null. */
  static Job desired(
      AutomationBatch batch,
      int round,
      int workers,
      TenantDirectory.Entry tenant,
      BatchSettings settings,
      Merchant merchant) {
    var labels = labels(batch);
    return new JobBuilder()
        .withNewMetadata()
        .withName(name(batch, round))
        .withNamespace(batch.getMetadata().getNamespace())
        .withLabels(labels)
        .withOwnerReferences(Owners.controller(batch))
        .endMetadata()
        .withNewSpec()
        .withParallelism(workers)
        .withBackoffLimit(BACKOFF_LIMIT)
        .withPodFailurePolicy(podFailurePolicy())
        .withPodReplacementPolicy("Failed")
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(labels)
        .endMetadata()
        .withSpec(podSpec(batch, tenant, settings, merchant))
        .endTemplate()
        .endSpec()
        .build();
  }

  /** Neither a database outage the worker waited out nor a node drain is the batch's fault. */
  private static PodFailurePolicy podFailurePolicy() {
    return new PodFailurePolicyBuilder()
        .addNewRule()
        .withAction("Ignore")
        .withNewOnExitCodes()
        .withContainerName(CONTAINER)
        .withOperator("In")
        .withValues(WorkerMain.EXIT_DATABASE_UNAVAILABLE)
        .endOnExitCodes()
        .endRule()
        .addNewRule()
        .withAction("Ignore")
        .addNewOnPodCondition()
        .withType("DisruptionTarget")
        .withStatus("True")
        .endOnPodCondition()
        .endRule()
        .build();
  }

  /**
   * One worker: no API token, non-root, no privilege, bounded resources, probed; a merchant's
   * credentials mounted from its Secret.
   */
  private static PodSpec podSpec(
      AutomationBatch batch,
      TenantDirectory.Entry tenant,
      BatchSettings settings,
      Merchant merchant) {
    var pod =
        new PodSpecBuilder()
            .withRestartPolicy("Never")
            .withAutomountServiceAccountToken(false)
            .withTerminationGracePeriodSeconds(30L)
            .withNewSecurityContext()
            .withRunAsNonRoot(true)
            .withNewSeccompProfile()
            .withType("RuntimeDefault")
            .endSeccompProfile()
            .endSecurityContext()
            .addNewContainer()
            .withName(CONTAINER)
            .withImage(settings.workerImage())
            .withImagePullPolicy(settings.workerImagePullPolicy())
            .withCommand(WorkerEnvironment.COMMAND)
            .withEnv(
                WorkerEnvironment.of(
                    workerConfig(batch, tenant, settings, merchant), tenant.tenantId()))
            .withNewResources()
            .withRequests(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("160Mi")))
            .withLimits(Map.of("cpu", new Quantity("500m"), "memory", new Quantity("256Mi")))
            .endResources()
            .withNewSecurityContext()
            .withAllowPrivilegeEscalation(false)
            .withNewCapabilities()
            .withDrop("ALL")
            .endCapabilities()
            .endSecurityContext()
            .endContainer()
            .build();
    WorkerEnvironment.addHealthChecks(pod.getContainers().get(0));
    if (merchant != null) {
      MerchantRoute.volume(merchant)
          .ifPresent(
              volume -> {
                pod.setVolumes(java.util.List.of(volume));
                pod.getContainers()
                    .get(0)
                    .setVolumeMounts(java.util.List.of(MerchantRoute.mount()));
              });
    }
    return pod;
  }

  /** What a batch's worker is told; a merchant's settings replace the batch's timeout. */
  static WorkerConfig workerConfig(
      AutomationBatch batch,
      TenantDirectory.Entry tenant,
      BatchSettings settings,
      Merchant merchant) {
    var spec = batch.getSpec();
    var tenantShare = Math.max(1, tenant.requestsPerMinute() / tenant.maxConcurrentJobs());
    var config =
        workerConfig(
            UUID.fromString(batch.getMetadata().getUid()),
            spec.processor,
            spec.itemTimeout,
            spec.backoff,
            merchant == null
                ? tenantShare
                : MerchantRoute.requestsPerMinute(merchant, spec.parallelism, tenantShare),
            settings.lease(),
            null);
    if (merchant == null) {
      return config;
    }
    return new WorkerConfig(
        config.batchId(),
        config.processor(),
        null,
        null,
        null,
        MerchantRoute.requestTimeout(merchant).toMillis(),
        config.backoffInitialMillis(),
        config.backoffMaxMillis(),
        config.backoffMultiplier(),
        config.requestsPerMinute(),
        config.claimSize(),
        config.leaseMillis(),
        null,
        MerchantRoute.of(merchant));
  }

  /**
   * What a worker is told, for a batch's Job ({@code batchId}) or a deployment's fleet ({@code
   * fleet}): its processor, timeouts, backoff, rate share and lease.
   */
  public static WorkerConfig workerConfig(
      UUID batchId,
      AutomationBatchSpec.Processor processor,
      String itemTimeout,
      AutomationBatchSpec.Backoff backoff,
      int requestsPerMinute,
      Duration lease,
      WorkerConfig.Fleet fleet) {
    String type;
    WorkerConfig.Simulated simulated = null;
    var claimSize = 1;
    if (processor.http != null) {
      type = "http";
    } else if (processor.command != null) {
      type = "command";
    } else {
      type = "simulated";
      var s = processor.simulated;
      var mean = Durations.parse(s.meanLatency).toMillis();
      simulated =
          new WorkerConfig.Simulated(
              SimulatedProcessor.Distribution.valueOf(s.distribution.toUpperCase(Locale.ROOT)),
              mean,
              s.failureRate,
              s.permanentFailureRate,
              s.seed);
      // Instant items are claimed a hundred at a time; anything slower one by one, so a claimed
      // item never waits behind others while another worker sits idle.
      claimSize = mean == 0 ? 100 : 1;
    }
    return new WorkerConfig(
        batchId,
        type,
        processor.http == null ? null : processor.http.url,
        processor.command == null ? null : processor.command.command,
        simulated,
        Durations.parse(itemTimeout).toMillis(),
        Durations.parse(backoff.initial).toMillis(),
        Durations.parse(backoff.max).toMillis(),
        backoff.multiplier,
        requestsPerMinute,
        claimSize,
        lease.toMillis(),
        fleet,
        null);
  }
}
