package dev.robusto.flag;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A feature flag for every tenant: its variants, the default, per-tenant overrides, a percentage
 * rollout and a kill switch. Cluster-scoped; its name is the flag key tenants evaluate.
 */
@Group("robusto.dev")
@Version("v1alpha1")
@ShortNames("ff")
@AdditionalPrinterColumn(name = "Type", jsonPath = ".spec.type")
@AdditionalPrinterColumn(name = "State", jsonPath = ".spec.state")
@AdditionalPrinterColumn(name = "Default", jsonPath = ".spec.defaultVariant")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class FeatureFlag extends CustomResource<FeatureFlagSpec, FeatureFlagStatus> {

  @Override
  @JsonPropertyDescription(
      "The flag's variants, who gets which (targeting, percentage rollout), its kill switch"
          + " and automatic disable.")
  public FeatureFlagSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "What the flag does now: tenants per variant, why it is off when it is, and conditions.")
  public FeatureFlagStatus getStatus() {
    return super.getStatus();
  }
}
