package dev.robusto.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** Points the operator under test at the real Prometheus of {@link Prometheus}. */
public class PrometheusResource implements QuarkusTestResourceLifecycleManager {

  @Override
  public Map<String, String> start() {
    return Map.of("robusto.prometheus.url", Prometheus.get().url().toString());
  }

  @Override
  public void stop() {
    // Shared by every test class in this JVM; a shutdown hook stops it.
  }
}
