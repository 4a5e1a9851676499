package dev.robusto.bench;

import dev.robusto.deployment.AutomationDeployment;
import dev.robusto.deployment.AutomationDeploymentSpec;
import dev.robusto.localnode.LocalNode;
import dev.robusto.testing.TestFleets;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Bad releases undone, timed (run by hack/bench/rollback, which starts the local cluster,
 * PostgreSQL and the operator and creates the tenant): a fleet of 4 worker processes (played by
 * {@link LocalNode}) busy with a batch, analysis every 10 s; each round releases a revision whose
 * simulated failure rate is 40 % and prints the time from the measurement that found the breach to
 * the rollback being complete (canary without pods, stable with all its replicas ready), and from
 * the release to that. Targets: within one interval + 5 s; the whole release under 60 s.
 *
 * <p>Arguments: kubeconfig, tenant namespace, rounds.
 */
public final class RollbackDrill {

  private static final String NAME = "drill";

  public static void main(String[] args) throws Exception {
    var config = Config.fromKubeconfig(Files.readString(Path.of(args[0])));
    var namespace = args[1];
    var rounds = Integer.parseInt(args[2]);
    try (var client = new KubernetesClientBuilder().withConfig(config).build();
        var kubelet = new LocalNode(client, namespace, TestFleets.IMAGE, WorkerProcesses.LOGS)) {
      client.resource(TestFleets.fleet(namespace, NAME, 4, "50ms", "10s")).create();
      TestFleets.feed(client, namespace, NAME, 15_000);
      awaitPhase(client, namespace, "Healthy", Duration.ofMinutes(2));
      System.out.printf(
          "Rollback drill: %d cores, 4 worker processes, analysis every 10 s, canary at 25 %%%n",
          Runtime.getRuntime().availableProcessors());
      for (var round = 1; round <= rounds; round++) {
        var seed = round;
        var released = Instant.now();
        edit(
            client,
            namespace,
            spec -> {
              spec.processor.simulated.failureRate = 0.4;
              spec.processor.simulated.seed = (long) seed;
            });
        var fleet = awaitRollbackComplete(client, namespace, round);
        var rollback = fleet.getStatus().rollbacks.get(fleet.getStatus().rollbacks.size() - 1);
        var breach = Instant.parse(rollback.time);
        var complete = Instant.parse(rollback.completedAt);
        System.out.printf(
            "  round %d: revision %d rolled back (%s) — breach measured → rollback complete %,d ms;"
                + " release → undone %,d ms%n",
            round,
            rollback.from,
            rollback.reason,
            Duration.between(breach, complete).toMillis(),
            Duration.between(released, complete).toMillis());
        // Back to the healthy spec (revision 1, already stable), ready for the next bad release.
        edit(
            client,
            namespace,
            spec -> {
              spec.processor.simulated.failureRate = 0.0;
              spec.processor.simulated.seed = 0L;
            });
        awaitPhase(client, namespace, "Healthy", Duration.ofMinutes(1));
      }
    }
  }

  private static AutomationDeployment awaitRollbackComplete(
      KubernetesClient client, String namespace, int rollbacks) throws InterruptedException {
    var deadline = Instant.now().plus(Duration.ofMinutes(3));
    while (Instant.now().isBefore(deadline)) {
      var fleet = get(client, namespace);
      var status = fleet.getStatus();
      if (status != null
          && status.rollbacks.size() >= rollbacks
          && status.rollbacks.get(status.rollbacks.size() - 1).completedAt != null) {
        return fleet;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("no rollback completed within 3 minutes");
  }

  private static void awaitPhase(
      KubernetesClient client, String namespace, String phase, Duration timeout)
      throws InterruptedException {
    var deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      var status = get(client, namespace).getStatus();
      if (status != null && phase.equals(String.valueOf(status.phase))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the fleet did not become " + phase + " in " + timeout);
  }

  private static AutomationDeployment get(KubernetesClient client, String namespace) {
    return client.resources(AutomationDeployment.class).inNamespace(namespace).withName(NAME).get();
  }

  private static void edit(
      KubernetesClient client,
      String namespace,
      java.util.function.Consumer<AutomationDeploymentSpec> change) {
    for (var attempt = 1; ; attempt++) {
      try {
        client
            .resources(AutomationDeployment.class)
            .inNamespace(namespace)
            .withName(NAME)
            .edit(
                f -> {
                  change.accept(f.getSpec());
                  return f;
                });
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
  }

  private RollbackDrill() {}
}
