package dev.robusto.deployment;

import dev.robusto.batch.BatchSettings;
import dev.robusto.batch.BatchWorkerJob;
import dev.robusto.operator.Owners;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantDirectory;
import dev.robusto.worker.WorkerConfig;
import dev.robusto.worker.WorkerEnvironment;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * One revision's apps/v1 Deployment: {@code <fleet>-r<revision>}, the revision's pod template with
 * the worker's configuration (its fleet and revision, so every attempt is counted for it), the
 * tenant's database Secret and, when the template runs the Robusto worker, its probes. Weight moves
 * by its replica count. What the operator adds to the template can change with its version or
 * settings; {@link #TEMPLATE_HASH_ANNOTATION} tells that apart from a hand edit.
 */
final class FleetDeployment {

  /** The hash of the pod template this operator made, as it made it. */
  static final String TEMPLATE_HASH_ANNOTATION = "robusto.dev/worker-template-hash";

  private FleetDeployment() {}

  static String name(AutomationDeployment fleet, int revision) {
    return FleetRevisions.truncate(fleet.getMetadata().getName()) + "-r" + revision;
  }

  static Map<String, String> selector(AutomationDeployment fleet, int revision) {
    return Map.of(
        AutomationDeployment.NAME_LABEL,
        fleet.getMetadata().getName(),
        AutomationDeployment.REVISION_LABEL,
        Integer.toString(revision));
  }

  static Deployment desired(
      AutomationDeployment fleet,
      int revision,
      FleetRevisions.Content content,
      int replicas,
      TenantDirectory.Entry tenant,
      BatchSettings settings) {
    var labels = new HashMap<>(selector(fleet, revision));
    labels.put(Tenant.MANAGED_BY_LABEL, Tenant.MANAGED_BY);
    labels.put(AutomationDeployment.COMPONENT_LABEL, AutomationDeployment.FLEET_COMPONENT);

    var template = new io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder(content.template);
    var podLabels = new HashMap<String, String>();
    if (content.template.getMetadata() != null
        && content.template.getMetadata().getLabels() != null) {
      podLabels.putAll(content.template.getMetadata().getLabels());
    }
    podLabels.putAll(labels);
    var pod = template.editOrNewMetadata().withLabels(podLabels).endMetadata().build();
    if (pod.getSpec().getAutomountServiceAccountToken() == null) {
      pod.getSpec().setAutomountServiceAccountToken(false); // workers never call the API server
    }
    configureWorker(
        pod.getSpec().getContainers().get(0), fleet, revision, content, tenant, settings);

    return new DeploymentBuilder()
        .withNewMetadata()
        .withName(name(fleet, revision))
        .withNamespace(fleet.getMetadata().getNamespace())
        .withLabels(labels)
        .withOwnerReferences(Owners.controller(fleet))
        .withAnnotations(Map.of(TEMPLATE_HASH_ANNOTATION, FleetRevisions.canonicalHash(pod)))
        .endMetadata()
        .withNewSpec()
        .withReplicas(replicas)
        .withNewSelector()
        .withMatchLabels(selector(fleet, revision))
        .endSelector()
        .withTemplate(pod)
        .endSpec()
        .build();
  }

  /**
   * The worker's configuration, in environment, and unless the template sets a command of its own,
   * the worker's command and probes.
   */
  private static void configureWorker(
      Container worker,
      AutomationDeployment fleet,
      int revision,
      FleetRevisions.Content content,
      TenantDirectory.Entry tenant,
      BatchSettings settings) {
    if (worker.getCommand() == null || worker.getCommand().isEmpty()) {
      worker.setCommand(WorkerEnvironment.COMMAND);
      WorkerEnvironment.addHealthChecks(worker);
    }
    // The tenant's request rate, shared by the fleet's pods.
    var perPod = Math.max(1, tenant.requestsPerMinute() / Math.max(1, fleet.getSpec().replicas));
    var config =
        BatchWorkerJob.workerConfig(
            null,
            content.processor,
            content.itemTimeout,
            content.backoff,
            perPod,
            settings.lease(),
            new WorkerConfig.Fleet(fleet.getMetadata().getName(), revision));
    var env = new ArrayList<EnvVar>();
    if (worker.getEnv() != null) {
      env.addAll(worker.getEnv());
    }
    env.addAll(WorkerEnvironment.of(config, tenant.tenantId()));
    worker.setEnv(env);
  }
}
