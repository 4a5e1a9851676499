package dev.robusto.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Points the operator under test (a {@code @QuarkusTest}) at a real local control plane with the
 * committed CRDs installed.
 */
public class LocalClusterResource implements QuarkusTestResourceLifecycleManager {

  @Override
  public Map<String, String> start() {
    var config = LocalCluster.get().config();
    return Map.of(
        "quarkus.kubernetes-client.api-server-url", config.getMasterUrl(),
        "quarkus.kubernetes-client.token", config.getAutoOAuthToken(),
        "quarkus.kubernetes-client.trust-certs", "true");
  }

  @Override
  public void stop() {
    // The cluster outlives a single Quarkus application; a JVM shutdown hook stops it.
  }
}
