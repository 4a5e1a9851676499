package dev.robusto.flag;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The FeatureFlag CRD's schema and CEL rules, as a real kube-apiserver applies them. */
@Tag("cluster")
class FeatureFlagValidationIT {

  private final LocalCluster cluster = LocalCluster.get();

  @Test
  void aWellFormedFlagIsAccepted() throws IOException {
    var result =
        apply(
            """
            apiVersion: robusto.dev/v1alpha1
            kind: FeatureFlag
            metadata: {name: validated-flag}
            spec:
              type: boolean
              variants: {"on": true, "off": false}
              defaultVariant: "on"
              tenants: {cliente-dificil: "off"}
              rollout: [{variant: "on", weight: 20}, {variant: "off", weight: 80}]
              autoDisable: {metric: batchFailureRate, threshold: 0.05, window: 5m}
            """);
    assertThat(result.exitCode()).as(result.output()).isZero();
  }

  @Test
  void aMalformedFlagIsRefusedWithWhatToFix() throws IOException {
    var result =
        apply(
            """
            apiVersion: robusto.dev/v1alpha1
            kind: FeatureFlag
            metadata: {name: broken-flag}
            spec:
              type: text
              variants: {}
              state: PAUSED
              rollout: [{variant: small, weight: -1}]
              autoDisable: {metric: cpu, threshold: 0.5}
            """);
    assertThat(result.exitCode()).isNotZero();
    assertThat(result.output())
        .contains("spec.type: Unsupported value: \"text\"")
        .contains("spec.state: Unsupported value: \"PAUSED\"")
        .contains("spec.defaultVariant: Required value")
        .contains(
            "spec.variants: Invalid value: 0: spec.variants in body should have at least 1 properties")
        .contains("spec.rollout[0].weight: Invalid value: -1")
        .contains("spec.autoDisable.metric: Invalid value: \"cpu\"");
  }

  @Test
  void aPrometheusMetricNeedsItsQueryAndOnlyItHasOne() throws IOException {
    var result =
        apply(
            """
            apiVersion: robusto.dev/v1alpha1
            kind: FeatureFlag
            metadata: {name: prometheus-without-query}
            spec:
              type: boolean
              variants: {"on": true, "off": false}
              defaultVariant: "on"
              autoDisable: {metric: prometheus, threshold: 0.2}
            ---
            apiVersion: robusto.dev/v1alpha1
            kind: FeatureFlag
            metadata: {name: query-without-prometheus}
            spec:
              type: boolean
              variants: {"on": true, "off": false}
              defaultVariant: "on"
              autoDisable: {metric: batchFailureRate, threshold: 0.2, query: "up"}
            """);
    assertThat(result.exitCode()).isNotZero();
    assertThat(result.output())
        .contains("prometheus-without-query")
        .contains("query-without-prometheus")
        .containsSubsequence(
            "spec.autoDisable: Invalid value",
            "query is required with metric prometheus, and only with it",
            "spec.autoDisable: Invalid value",
            "query is required with metric prometheus, and only with it");
  }

  private LocalCluster.Result apply(String yaml) throws IOException {
    var file = Files.createTempFile("featureflag", ".yaml");
    Files.writeString(file, yaml);
    return cluster.kubectlResult("apply", "-f", file.toString());
  }
}
