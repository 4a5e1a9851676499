package dev.robusto.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.tenant.TenantDatabaseSync;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import java.util.List;

/**
 * How the operator starts {@link WorkerMain} in a pod (a batch's Job or a deployment's fleet): the
 * command in the operator's image, and the environment: the worker's config, the pod's name and the
 * tenant's database Secret (so row-level security confines the worker to its tenant).
 */
public final class WorkerEnvironment {

  public static final List<String> COMMAND =
      List.of(
          "java",
          "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
          "-cp",
          "/deployments/app/*:/deployments/lib/main/*",
          "dev.robusto.worker.WorkerMain");

  /** The port a worker answers its probes on (WorkerHealth). */
  public static final int HEALTH_PORT = WorkerHealth.DEFAULT_PORT;

  private static final ObjectMapper JSON = new ObjectMapper();

  private WorkerEnvironment() {}

  /** What the worker is told; nothing secret (an http processor's URL carries no credentials). */
  public static List<EnvVar> of(WorkerConfig config) {
    String json;
    try {
      json = JSON.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    return List.of(
        new EnvVarBuilder().withName("ROBUSTO_WORKER_CONFIG").withValue(json).build(),
        new EnvVarBuilder()
            .withName("ROBUSTO_WORKER_NAME")
            .withNewValueFrom()
            .withNewFieldRef()
            // Given as the API server defaults it, so an applied Deployment matches what it sent.
            .withApiVersion("v1")
            .withFieldPath("metadata.name")
            .endFieldRef()
            .endValueFrom()
            .build(),
        secret("ROBUSTO_DATABASE_URL", "jdbc-url"),
        secret("ROBUSTO_DATABASE_USERNAME", "username"),
        secret("ROBUSTO_DATABASE_PASSWORD", "password"));
  }

  private static EnvVar secret(String name, String key) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewSecretKeyRef()
        .withName(TenantDatabaseSync.SECRET)
        .withKey(key)
        .endSecretKeyRef()
        .endValueFrom()
        .build();
  }
}
