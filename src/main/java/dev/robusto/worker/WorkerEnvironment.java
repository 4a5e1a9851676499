package dev.robusto.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.tenant.PayloadKeys;
import dev.robusto.tenant.TenantDatabaseSync;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import java.util.ArrayList;
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
          "/deployments/app/*:/deployments/lib/main/*:/deployments/lib/boot/*",
          "dev.robusto.worker.WorkerMain");

  /** The port a worker answers its probes on (WorkerHealth). */
  public static final int HEALTH_PORT = WorkerHealth.DEFAULT_PORT;

  /** The tenant whose worker this is, for its log lines. */
  static final String TENANT = "ROBUSTO_TENANT";

  private static final ObjectMapper JSON = new ObjectMapper();

  private WorkerEnvironment() {}

  /**
   * What the worker is told, and whose it is ({@code tenant}, for its log lines); nothing secret
   * (an http processor's URL carries no credentials).
   */
  public static List<EnvVar> of(WorkerConfig config, String tenant) {
    String json;
    try {
      json = JSON.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    var env =
        new ArrayList<>(
            List.of(
                new EnvVarBuilder().withName("ROBUSTO_WORKER_CONFIG").withValue(json).build(),
                new EnvVarBuilder().withName(TENANT).withValue(tenant).build(),
                new EnvVarBuilder()
                    .withName("ROBUSTO_WORKER_NAME")
                    .withNewValueFrom()
                    .withNewFieldRef()
                    // Given as the API server defaults it, so an applied Deployment matches what it
                    // sent.
                    .withApiVersion("v1")
                    .withFieldPath("metadata.name")
                    .endFieldRef()
                    .endValueFrom()
                    .build(),
                secret("ROBUSTO_DATABASE_URL", "jdbc-url"),
                secret("ROBUSTO_DATABASE_USERNAME", "username"),
                secret("ROBUSTO_DATABASE_PASSWORD", "password"),
                optionalSecret("ROBUSTO_PAYLOAD_KEY", PayloadKeys.WORKER_KEY)));
    // Read by the connection itself when the URL verifies PostgreSQL's certificate: given only
    // when the operator's own connection does (the chart's database.tls), so turning it on is what
    // changes workers' pod templates, not an upgrade.
    var ca = System.getenv("ROBUSTO_DATABASE_CA");
    if (ca != null && !ca.isBlank()) {
      env.add(optionalSecret("ROBUSTO_DATABASE_CA", TenantDatabaseSync.DATABASE_CA));
    }
    return env;
  }

  /**
   * The worker's health port and probes, where the container has none of its own: a hung worker is
   * restarted (its leases expire and others take its tickets), and one that has not reached the
   * database yet is not ready (a fleet's canary counts ready pods). The probes name the port by
   * number, so a template's own port named "health" cannot misdirect them.
   */
  public static void addHealthChecks(Container worker) {
    var ports = new ArrayList<ContainerPort>();
    if (worker.getPorts() != null) {
      ports.addAll(worker.getPorts());
    }
    if (ports.stream()
        .noneMatch(
            p ->
                Integer.valueOf(HEALTH_PORT).equals(p.getContainerPort())
                    || "health".equals(p.getName()))) {
      ports.add(
          new ContainerPortBuilder()
              .withName("health")
              .withContainerPort(HEALTH_PORT)
              .withProtocol("TCP")
              .build());
      worker.setPorts(ports);
    }
    if (worker.getLivenessProbe() == null) {
      worker.setLivenessProbe(probe("/live", 20));
    }
    if (worker.getReadinessProbe() == null) {
      worker.setReadinessProbe(probe("/ready", 10));
    }
  }

  /** An HTTP probe as the API server defaults it, so an applied Deployment matches what it sent. */
  private static Probe probe(String path, int periodSeconds) {
    return new ProbeBuilder()
        .withNewHttpGet()
        .withPath(path)
        .withPort(new IntOrString(HEALTH_PORT))
        .withScheme("HTTP")
        .endHttpGet()
        .withPeriodSeconds(periodSeconds)
        .withTimeoutSeconds(1)
        .withSuccessThreshold(1)
        .withFailureThreshold(3)
        .build();
  }

  /** A key the tenant's Secret may not have yet: a worker without it starts all the same. */
  private static EnvVar optionalSecret(String name, String key) {
    var env = secret(name, key);
    env.getValueFrom().getSecretKeyRef().setOptional(true);
    return env;
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
