package dev.robusto.deployment;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A tenant's worker fleet, rolled out revision by revision: a stable and a canary apps/v1
 * Deployment, weight moved between them by replica count through the canary steps, each step judged
 * by metrics (the fleet's own error rate and latency per revision, or Prometheus), and rolled back
 * on a breach.
 */
@Group("robusto.dev")
@Version("v1alpha1")
@ShortNames("ad")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(
    name = "Stable",
    jsonPath = ".status.stableRevision",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Canary",
    jsonPath = ".status.canaryRevision",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Weight",
    jsonPath = ".status.canaryWeight",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Step",
    jsonPath = ".status.currentStepIndex",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class AutomationDeployment
    extends CustomResource<AutomationDeploymentSpec, AutomationDeploymentStatus>
    implements Namespaced {

  /**
   * A person's order, carried out at once and then removed: {@code promote} (the spec's revision
   * becomes stable, skipping steps and analysis), {@code abort} (canary to zero), {@code retry} (an
   * aborted or rolled-back revision starts its steps again), {@code rollback:N} (revision N becomes
   * stable at full weight).
   */
  public static final String ACTION_ANNOTATION = "robusto.dev/action";

  /** Labels on the Deployments, ControllerRevisions and pods of a fleet. */
  public static final String NAME_LABEL = "robusto.dev/automation-deployment";

  public static final String REVISION_LABEL = "robusto.dev/revision";
  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  public static final String FLEET_COMPONENT = "fleet-worker";

  @Override
  @JsonPropertyDescription(
      "The worker fleet: its pod template and processor, replicas, the canary steps and how"
          + " a canary is judged.")
  public AutomationDeploymentSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "Where the rollout stands: revisions, weights, the last analysis, rollbacks and conditions.")
  public AutomationDeploymentStatus getStatus() {
    return super.getStatus();
  }
}
