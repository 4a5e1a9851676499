package dev.robusto.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Points the operator under test (a {@code @QuarkusTest}) at a real local control plane where the
 * Helm chart is installed, authenticated as the chart's ServiceAccount.
 */
public class LocalClusterResource implements QuarkusTestResourceLifecycleManager {

  @Override
  public Map<String, String> start() {
    var cluster = LocalCluster.get();
    var operatorToken = cluster.installChartAndIssueOperatorToken();
    return Map.of(
        "quarkus.kubernetes-client.api-server-url",
        cluster.config().getMasterUrl(),
        "quarkus.kubernetes-client.token",
        operatorToken,
        "quarkus.kubernetes-client.trust-certs",
        "true");
  }

  @Override
  public void stop() {
    // The cluster outlives a single Quarkus application; a JVM shutdown hook stops it.
  }
}
