package dev.robusto.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The AutomationDeployment CRD's schema and CEL rules, as a real kube-apiserver applies them (the
 * example fleet is applied for real by ExamplesIT).
 */
@Tag("cluster")
class AutomationDeploymentValidationIT {

  private final LocalCluster cluster = LocalCluster.get();

  @Test
  void aFleetUsingEveryKindOfStepAndMetricIsAccepted() throws IOException {
    var result =
        apply(
            """
            apiVersion: robusto.dev/v1alpha1
            kind: AutomationDeployment
            metadata: {name: valid-fleet, namespace: default}
            spec:
              replicas: 4
              template: {spec: {containers: [{name: worker, image: robusto-operator:dev}]}}
              processor: {http: {url: "https://portal.example/api"}}
              strategy:
                canary:
                  steps:
                    - {setWeight: 25}
                    - {analysis: {measurements: 2}}
                    - {pause: {duration: 1m30s}}
                    - {pause: {}}
              analysis:
                interval: 10s
                metrics:
                  - {name: errors, builtin: errorRate, threshold: 0.1, failureLimit: 1}
                  - {name: slow, builtin: latencyP95, threshold: 1500, onBreach: Warn}
                  - name: portal-5xx
                    provider: prometheus
                    query: 'sum(rate(portal_5xx{revision="$revision"}[1m]))'
                    threshold: 0.05
                    onNoData: Rollback
              onRollback: {disableFlags: [nuevo-flujo-portal]}
            """,
            "--dry-run=server");
    assertThat(result.exitCode()).as(result.output()).isZero();
    assertThat(result.output()).contains("automationdeployment.robusto.dev/valid-fleet");
  }

  @Test
  void aMalformedFleetIsRefusedWithWhatToFix() throws IOException {
    var result =
        apply(
            """
            apiVersion: robusto.dev/v1alpha1
            kind: AutomationDeployment
            metadata: {name: broken-fleet, namespace: default}
            spec:
              replicas: -1
              template: {spec: {containers: [{name: worker, image: robusto-operator:dev}]}}
              processor: {simulated: {}, http: {url: "http://portal.example/api"}}
              strategy:
                canary:
                  steps:
                    - {setWeight: 150}
                    - {setWeight: 20, pause: {duration: 1m}}
              analysis:
                interval: soon
                metrics:
                  - {name: errors, provider: prometheus, threshold: 0.1}
                  - {name: slow, builtin: latencyP90, threshold: 2000, onBreach: Page}
            """);
    assertThat(result.exitCode()).isNotZero();
    assertThat(result.output())
        .contains("spec.replicas: Invalid value: -1")
        .contains("processor takes exactly one of http, command and simulated")
        .contains("spec.strategy.canary.steps[0].setWeight: Invalid value: 150")
        .contains("each step is exactly one of setWeight, pause and analysis")
        .contains("spec.analysis.interval: Invalid value: \"soon\"")
        .contains(
            "a builtin metric names builtin (errorRate or latencyP95); a prometheus one a query")
        .contains("spec.analysis.metrics[1].builtin: Invalid value: \"latencyP90\"")
        .contains("spec.analysis.metrics[1].onBreach: Invalid value: \"Page\"");
  }

  private LocalCluster.Result apply(String yaml, String... flags) throws IOException {
    var file = Files.createTempFile("fleet", ".yaml");
    Files.writeString(file, yaml);
    var args = new ArrayList<>(List.of("apply", "-f", file.toString()));
    args.addAll(List.of(flags));
    return cluster.kubectlResult(args.toArray(String[]::new));
  }
}
