package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FeatureFlagSpec;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.OperatorProcess;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Two replicas of the packaged operator, as the chart runs them, on a control plane of their own
 * (the in-process operator of the other tests never sees it): one leads and reconciles, the other
 * serves the HTTP APIs, and takes over when the leader dies.
 */
@Tag("cluster")
class LeaderElectionIT {

  private static final Pattern TENANT_RECONCILES =
      Pattern.compile(
          "^operator_sdk_controllers_execution_reconcile_success_total\\{controller=\"tenant\".*} ([0-9.E]+)$",
          Pattern.MULTILINE);

  private LocalCluster cluster;

  @AfterEach
  void stopCluster() {
    if (cluster != null) {
      cluster.stop();
    }
  }

  @Test
  void oneReplicaReconcilesTheOtherServesAndTakesOverWhenTheLeaderDies() throws Exception {
    cluster = LocalCluster.startSeparate("leader-election");
    var kubeconfig = cluster.kubeconfigWithToken(cluster.installChartAndIssueOperatorToken());
    var postgres = Postgres.get();
    postgres.migratedDatabase("leader_election");
    var env =
        Map.of(
            "KUBECONFIG", kubeconfig.toString(),
            "KUBERNETES_NAMESPACE", LocalCluster.RELEASE_NAMESPACE,
            "QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl("leader_election"),
            "QUARKUS_DATASOURCE_USERNAME", Postgres.OPERATOR_ROLE,
            "QUARKUS_DATASOURCE_PASSWORD", Postgres.OPERATOR_PASSWORD);
    try (var client = cluster.client();
        var a = OperatorProcess.start("replica-a", env);
        var b = OperatorProcess.start("replica-b", env)) {
      a.awaitReady(Duration.ofSeconds(90));
      b.awaitReady(Duration.ofSeconds(90));
      var holder =
          await("a replica holds the lease")
              .atMost(Duration.ofSeconds(30))
              .until(() -> leaseHolder(client), h -> h != null && !h.isEmpty());
      var leader = holder.equals(a.name()) ? a : b;
      var standby = leader == a ? b : a;
      assertThat(holder).isIn(a.name(), b.name());

      var namespace = TestTenants.ready(client, "lider-uno", Tier.STARTUP, null);
      // The count follows the reconcile's status write by a moment.
      await("the leader counts the reconcile")
          .atMost(Duration.ofSeconds(10))
          .until(() -> tenantReconciles(leader) > 0);
      assertThat(tenantReconciles(standby)).as("the standby reconciles nothing").isZero();

      // The standby serves: readiness, audit verification, and OFREP from its own flag informer.
      assertThat(standby.get("/q/health/ready").status()).isEqualTo(200);
      cluster.kubectl("create", "serviceaccount", "auditor", "-n", "default");
      cluster.kubectl(
          "create",
          "clusterrolebinding",
          "auditor",
          "--clusterrole",
          LocalCluster.RELEASE + "-audit-reader",
          "--serviceaccount",
          "default:auditor");
      var auditor = cluster.kubectl("create", "token", "auditor", "-n", "default").strip();
      assertThat(standby.get("/api/v1/audit/verify", auditor).status()).isEqualTo(200);
      client.resource(flag("lider-flag")).create();
      client
          .resource(
              new ServiceAccountBuilder()
                  .withNewMetadata()
                  .withName("app")
                  .withNamespace(namespace)
                  .endMetadata()
                  .build())
          .create();
      var token = cluster.kubectl("create", "token", "app", "-n", namespace).strip();
      await("the standby answers OFREP")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(
                          standby
                              .post(
                                  "/ofrep/v1/evaluate/flags/lider-flag",
                                  token,
                                  "{\"context\": {\"targetingKey\": \"lider-uno\"}}")
                              .body())
                      .contains("\"value\":true"));

      // PostgreSQL unreachable: no replica is ready (both leave the Service), both stay live (no
      // restart would help); back, both are ready again.
      var ready = standby.get("/q/health/ready").body();
      assertThat(ready)
          .as("readiness checks the informers and the database")
          .contains("Quarkus Operator SDK health check")
          .contains("Database connections health check");
      assertThat(standby.get("/q/health/live").body()).doesNotContain("Database");
      allowConnections(postgres, false);
      try {
        for (var replica : List.of(leader, standby)) {
          await(replica.name() + " is not ready without its database")
              .atMost(Duration.ofSeconds(30))
              .until(() -> replica.get("/q/health/ready").status() == 503);
          assertThat(replica.get("/q/health/live").status()).isEqualTo(200);
        }
      } finally {
        allowConnections(postgres, true);
      }
      for (var replica : List.of(leader, standby)) {
        await(replica.name() + " is ready again")
            .atMost(Duration.ofSeconds(30))
            .until(() -> replica.get("/q/health/ready").status() == 200);
      }

      // The leader's node fails: the standby takes the lease once it lapses, and reconciles.
      leader.kill();
      await("the standby takes over")
          .atMost(Duration.ofSeconds(45))
          .until(() -> standby.name().equals(leaseHolder(client)));
      TestTenants.ready(client, "lider-dos", Tier.STARTUP, null);
      await("the new leader counts its reconciles")
          .atMost(Duration.ofSeconds(10))
          .until(() -> tenantReconciles(standby) > 0);
      assertThat(standby.alive()).isTrue();

      // The API server and the database go first, as when a local run is torn down: SIGTERM
      // still ends the leader, while it still believes it leads, within seconds.
      cluster.stop();
      cluster = null;
      allowConnections(postgres, false);
      var stopping = System.nanoTime();
      assertThat(standby.terminate(Duration.ofSeconds(10)))
          .as("the leader exits within 10 s of SIGTERM with no API server and no database")
          .isTrue();
      System.out.printf(
          "leader exited %d ms after SIGTERM%n",
          Duration.ofNanos(System.nanoTime() - stopping).toMillis());
    }
  }

  private static String leaseHolder(KubernetesClient client) {
    var lease =
        client
            .leases()
            .inNamespace(LocalCluster.RELEASE_NAMESPACE)
            .withName(Leadership.LEASE)
            .get();
    return lease == null ? null : lease.getSpec().getHolderIdentity();
  }

  /** Tenant reconciles the replica has counted (0 before its controllers start). */
  private static double tenantReconciles(OperatorProcess replica) {
    var metrics = replica.get("/q/metrics").body();
    var matcher = TENANT_RECONCILES.matcher(metrics);
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
  }

  private static FeatureFlag flag(String name) throws Exception {
    var flag = new FeatureFlag();
    flag.setMetadata(new ObjectMetaBuilder().withName(name).build());
    flag.setSpec(
        new ObjectMapper()
            .readValue(
                "{\"type\": \"boolean\", \"variants\": {\"on\": true, \"off\": false},"
                    + " \"defaultVariant\": \"on\"}",
                FeatureFlagSpec.class));
    return flag;
  }

  /** Opens or closes database leader_election; closing it also ends its sessions. */
  private static void allowConnections(Postgres postgres, boolean allowed) throws Exception {
    try (var admin = postgres.superuser("postgres");
        var s = admin.createStatement()) {
      s.execute("ALTER DATABASE leader_election ALLOW_CONNECTIONS " + allowed);
      if (!allowed) {
        s.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE datname = 'leader_election'");
      }
    }
  }
}
