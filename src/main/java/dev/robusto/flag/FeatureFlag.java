package dev.robusto.flag;

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
public class FeatureFlag extends CustomResource<FeatureFlagSpec, FeatureFlagStatus> {}
