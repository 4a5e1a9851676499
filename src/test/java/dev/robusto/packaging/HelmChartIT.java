package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Helm chart with the real helm and kubectl against the local control plane. */
@Tag("cluster")
class HelmChartIT {

  private static final String CHART = "helm/robusto-operator";
  private static LocalCluster cluster;

  @BeforeAll
  static void cluster() {
    cluster = LocalCluster.get();
  }

  @Test
  void lintPasses() {
    var lint =
        cluster.helm("lint", CHART, "--strict", "--set", "database.existingSecret=robusto-db");
    assertThat(lint.exitCode()).as(lint.output()).isZero();
    assertThat(lint.output()).contains("0 chart(s) failed");
  }

  @Test
  void renderedManifestsAreAcceptedByTheApiServer() {
    var unset = cluster.helm("template", "render-check", CHART);
    assertThat(unset.exitCode()).isNotZero();
    assertThat(unset.output()).contains("Set database.existingSecret");
    var rendered =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "-n",
            "render-check",
            "--set",
            "database.password=s3cret");
    assertThat(rendered.exitCode()).as(rendered.output()).isZero();
    assertThat(rendered.output())
        .contains("robusto.tenant.tiers.enterprise.max-concurrent-jobs=20")
        .contains("robusto.tenant.tiers.startup.max-daily-jobs=100")
        .contains("robusto.leader-election.enabled=true")
        .contains("replicas: 2")
        .contains("type: RollingUpdate")
        .contains("kind: PodDisruptionBudget");
    var single =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "--set",
            "database.password=s3cret",
            "--set",
            "replicaCount=1",
            "--set",
            "leaderElection.enabled=false");
    assertThat(single.output())
        .as("without an election, an upgrade never runs two operators")
        .contains("robusto.leader-election.enabled=false")
        .contains("type: Recreate")
        .doesNotContain("kind: PodDisruptionBudget");
    var values =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "--set",
            "database.existingSecret=robusto-db",
            "--set",
            "tiers.startup.maxDailyJobs=250",
            "--set",
            "watchNamespaces={tenant-a,tenant-b}");
    assertThat(values.output())
        .contains("robusto.tenant.tiers.startup.max-daily-jobs=250")
        .contains("quarkus.operator-sdk.namespaces=tenant-a,tenant-b");
  }

  @Test
  void installRunsTheOperatorPodAndUninstallRemovesIt() {
    var install =
        cluster.helm(
            "install",
            "demo",
            CHART,
            "--set",
            "database.password=demo-only",
            "-n",
            "robusto-demo",
            "--create-namespace",
            "--wait",
            "--timeout",
            "120s");
    assertThat(install.exitCode())
        .as(
            () ->
                install.output()
                    + cluster.kubectlResult("get", "nodes,pods", "-A", "-o", "wide").output()
                    + cluster.kubectlResult("get", "events", "-n", "robusto-demo").output())
        .isZero();
    // KWOK's fake nodes run the pod, so the Deployment becomes available as on a real cluster.
    assertThat(
            cluster.kubectl(
                "get",
                "deployment",
                "demo-robusto-operator",
                "-n",
                "robusto-demo",
                "-o",
                "jsonpath={.status.availableReplicas}"))
        .isEqualTo("2");
    assertThat(cluster.kubectl("get", "crd", "tenants.robusto.dev", "-o", "name"))
        .contains("tenants.robusto.dev");

    var uninstall = cluster.helm("uninstall", "demo", "-n", "robusto-demo", "--wait");
    assertThat(uninstall.exitCode()).as(uninstall.output()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(
                        cluster
                            .kubectlResult("get", "clusterrole", "demo-robusto-operator")
                            .exitCode())
                    .isNotZero());
  }

  @Test
  void theOperatorsServiceAccountHasLeastPrivilege() {
    LocalCluster.checked(
        cluster.helm(
            "upgrade",
            "--install",
            "rbac-check",
            CHART,
            "--set",
            "database.password=unused",
            "-n",
            "rbac-check",
            "--create-namespace",
            "--set",
            "replicaCount=0"));
    var sa = "system:serviceaccount:rbac-check:rbac-check-robusto-operator";
    assertThat(canI(sa, "create", "namespaces")).isTrue();
    assertThat(canI(sa, "patch", "tenants.robusto.dev/status")).isTrue();
    assertThat(canI(sa, "bind", "clusterroles/edit")).isTrue();
    // What it must not do: delete namespaces (GC does), touch CRDs, hand out admin, read secrets.
    assertThat(canI(sa, "delete", "namespaces")).isFalse();
    assertThat(canI(sa, "create", "customresourcedefinitions")).isFalse();
    assertThat(canI(sa, "bind", "clusterroles/admin")).isFalse();
    assertThat(canI(sa, "bind", "clusterroles/cluster-admin")).isFalse();
    assertThat(canI(sa, "get", "secrets")).isFalse();
    assertThat(canI(sa, "list", "secrets")).isFalse();
    assertThat(canI(sa, "get", "secrets/robusto-database")).isTrue();
    assertThat(canI(sa, "delete", "tenants.robusto.dev")).isFalse();
    // The leader election's Lease, in its own namespace only.
    assertThat(canI(sa, "update", "leases.coordination.k8s.io", "-n", "rbac-check")).isTrue();
    assertThat(canI(sa, "patch", "leases.coordination.k8s.io", "-n", "rbac-check")).isTrue();
    assertThat(canI(sa, "update", "leases.coordination.k8s.io", "-n", "kube-system")).isFalse();
  }

  private static boolean canI(String user, String verb, String resource, String... flags) {
    var args = new ArrayList<>(List.of("auth", "can-i", verb, resource, "--as", user));
    args.addAll(List.of(flags));
    var result = cluster.kubectlResult(args.toArray(String[]::new));
    // kubectl may print a warning line too (e.g. "namespaces is not namespace scoped").
    return result.output().lines().anyMatch("yes"::equals);
  }
}
