package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The audit checkpointer under its own identity, and the operator's identity attacking it: the
 * operator (whoever holds its ServiceAccount) may not write a checkpoint, nor become the
 * checkpointer through a Job, a token Secret, a RoleBinding or the checkpointer's Deployment in its
 * namespace; the checkpointer's login reads the chain's seq and hash and nothing more.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class AuditCheckpointerIT {

  static final String CHECKPOINTER = LocalCluster.RELEASE + "-audit-checkpointer";
  private static final String NAMESPACE = LocalCluster.RELEASE_NAMESPACE;

  @Inject AuditLog log;
  @Inject KubernetesClient operatorClient;
  @Inject AuditVerifications verifications;

  /** A client authenticated as the chart's checkpointer ServiceAccount. */
  static KubernetesClient checkpointerClient() {
    var cluster = LocalCluster.get();
    var token = cluster.kubectl("create", "token", CHECKPOINTER, "-n", NAMESPACE).strip();
    return new KubernetesClientBuilder()
        .withConfig(new ConfigBuilder(cluster.config()).withOauthToken(token).build())
        .build();
  }

  /** The checkpointer as the chart runs it: its ServiceAccount and its own database login. */
  static AuditCheckpointer checkpointer(KubernetesClient client, long rows, Duration interval) {
    return new AuditCheckpointer(
        new AuditCheckpoints(client, NAMESPACE),
        new AuditCheckpoints.Chain(
            Postgres.get()
                .dataSource("robusto", Postgres.CHECKPOINTER_ROLE, Postgres.CHECKPOINTER_PASSWORD)),
        rows,
        interval);
  }

  @Test
  void theCheckpointerPinsTheChainEveryNRowsAndOnItsTimer() throws Exception {
    var rows = 10;
    var hour = Duration.ofHours(1);
    try (var client = checkpointerClient()) {
      var checkpointer = checkpointer(client, rows, hour);
      append(1);
      // Later than any checkpoint another test wrote: due by time, so the tip is pinned now.
      var start = Instant.now().plus(Duration.ofDays(1));
      var first = checkpointer.round(start).orElseThrow();
      assertThat(first.seq()).isEqualTo(AuditApiIT.lastSeq());
      assertThat(
              LocalCluster.get()
                  .kubectl(
                      "get",
                      "configmap",
                      AuditCheckpoints.PREFIX + first.seq(),
                      "-n",
                      NAMESPACE,
                      "-o",
                      "jsonpath={.immutable} {.data.seq} {.data.hash}"))
          .isEqualTo("true " + first.seq() + " " + first.hash());

      append(rows / 2);
      assertThat(checkpointer.round(start.plusSeconds(1))).as("half of N rows, early").isEmpty();
      append(rows);
      var byRows = checkpointer.round(start.plusSeconds(2)).orElseThrow();
      assertThat(byRows.seq()).isGreaterThanOrEqualTo(first.seq() + rows);

      append(1);
      assertThat(checkpointer.round(start.plusSeconds(3))).as("one row, early").isEmpty();
      var byTime = checkpointer.round(start.plus(hour).plusSeconds(3)).orElseThrow();
      assertThat(byTime.seq()).isGreaterThan(byRows.seq());
      assertThat(checkpointer.round(start.plus(hour).plus(hour))).as("nothing new").isEmpty();
    }
  }

  @Test
  void aRewrittenCheckpointedRowGetsNoNewCheckpointAndVerificationNamesIt() throws Exception {
    try (var client = checkpointerClient()) {
      var checkpointer = checkpointer(client, 1, Duration.ofHours(1));
      append(1);
      var at = Instant.now().plus(Duration.ofDays(2));
      var pinned = checkpointer.round(at).orElseThrow();
      append(1);
      var original = AuditApiIT.column(pinned.seq(), "hash");
      var refusal =
          "Audit row %d no longer has the hash %s of its checkpoint"
              .formatted(pinned.seq(), pinned.hash());
      AuditApiIT.set(pinned.seq(), "hash", "0".repeat(64));
      try {
        assertThat(checkpointer.round(at.plusSeconds(1))).isEmpty();
        assertThat(eventsSaying(refusal)).isEqualTo(1);
        var walked = verifications.full().verification();
        assertThat(walked.intact()).isFalse();
        assertThat(walked.firstBrokenSeq()).isEqualTo(pinned.seq());
        assertThat(checkpointer.round(at.plusSeconds(2))).isEmpty();
        assertThat(eventsSaying(refusal)).as("not tried again at once").isEqualTo(1);
      } finally {
        AuditApiIT.set(pinned.seq(), "hash", original);
      }
      assertThat(checkpointer.round(at.plus(Duration.ofHours(2)))).as("restored").isPresent();
    }
  }

  /**
   * What the database may hand the checkpointer, in a database of its own (so the shared chain is
   * left alone) and checkpoints in a namespace of their own: a row planted far ahead, which pinned
   * and then removed would leave the chain for ever "behind" its checkpoint, is never pinned; a
   * chain cut below its checkpoint is reported, not passed over.
   */
  @Test
  void rowsPlantedAheadOrCutBelowTheCheckpointAreReportedNotPinned() throws Exception {
    var database = "checkpoint_plant_it";
    var scratch = "checkpoint-plant-it";
    var cluster = LocalCluster.get();
    cluster.kubectlResult("create", "namespace", scratch);
    Postgres.get().migratedDatabase(database);
    var chain =
        new AuditCheckpoints.Chain(
            Postgres.get()
                .dataSource(database, Postgres.CHECKPOINTER_ROLE, Postgres.CHECKPOINTER_PASSWORD));
    try (var scratchLog =
            new AuditLog(
                Postgres.get().operator(database), dev.robusto.testing.TestAuditKeys.KEYS);
        var admin = cluster.client()) {
      for (var i = 0; i < 3; i++) {
        scratchLog.append(new AuditEntry("test", "update", "ConfigMap/x/p", "acme", "a", "b"));
      }
      var checkpointer =
          new AuditCheckpointer(
              new AuditCheckpoints(admin, scratch), chain, 1, Duration.ofHours(1));
      var now = Instant.now();
      assertThat(checkpointer.round(now).orElseThrow().seq()).isEqualTo(3);

      asSuperuser(
          database,
          "INSERT INTO audit_log (seq, at, actor, action, resource, prev_hash, hash)"
              + " SELECT 1000, at, actor, action, resource, hash, repeat('f', 64)"
              + " FROM audit_log WHERE seq = 3");
      assertThat(checkpointer.round(now.plusSeconds(1))).isEmpty();
      assertThat(events(cluster, scratch)).contains("Audit rows 4 to 1000 are 1, not 997");
      assertThat(new AuditCheckpoints(admin, scratch).latest().orElseThrow().seq()).isEqualTo(3);

      asSuperuser(database, "DELETE FROM audit_log WHERE seq = 1000");
      scratchLog.append(new AuditEntry("test", "update", "ConfigMap/x/p", "acme", "a", "b"));
      assertThat(checkpointer.round(now.plus(Duration.ofHours(2))).orElseThrow().seq())
          .isEqualTo(4);

      asSuperuser(database, "DELETE FROM audit_log WHERE seq = 4");
      assertThat(checkpointer.round(now.plus(Duration.ofHours(2)).plusSeconds(1))).isEmpty();
      assertThat(events(cluster, scratch))
          .contains("Audit row 4 no longer has the hash")
          .contains("the chain was cut or rewritten");
    } finally {
      cluster.kubectlResult("delete", "namespace", scratch, "--wait=false");
    }
  }

  @Test
  void theOperatorCannotWriteACheckpointNorTakeTheName() {
    var seq = Long.MAX_VALUE - 1;
    // Two policies refuse the operator here (checkpoints are the checkpointer's; in its own
    // namespace the operator writes only its anchor): either may be the one that answers.
    for (var attempt :
        List.of(
            checkpointMap(AuditCheckpoints.PREFIX + seq, true),
            checkpointMap(AuditCheckpoints.PREFIX + seq, false),
            checkpointMap("looks-harmless", true))) {
      assertRefused(
          () -> operatorClient.resource(attempt).create(),
          "may be written only by the audit checkpointer",
          "and here only its audit anchor");
    }
    // A cluster admin is held to it too (they prune by unbinding the policy, which is audited).
    var byAdmin =
        LocalCluster.get()
            .kubectlResult("create", "configmap", AuditCheckpoints.PREFIX + seq, "-n", NAMESPACE);
    assertThat(byAdmin.exitCode()).isNotZero();
    assertThat(byAdmin.output()).contains("may be written only by the audit checkpointer");
  }

  @Test
  void theOperatorCannotBecomeTheCheckpointerNorAnyOtherAccount() {
    // A Job running as the checkpointer in its namespace, or as a kube-system controller (which
    // may create pods anywhere, the checkpointer's ServiceAccount included).
    for (var target :
        new String[][] {{NAMESPACE, CHECKPOINTER}, {"kube-system", "replicaset-controller"}}) {
      assertRefused(
          () -> operatorClient.resource(job(target[0], target[1])).create(),
          "the operator may not create jobs in namespace " + target[0]);
    }
    // A legacy token Secret the token controller would fill with another account's token, under
    // the one Secret name the operator may read.
    for (var target :
        new String[][] {{NAMESPACE, CHECKPOINTER}, {"kube-system", "namespace-controller"}}) {
      var tokenSecret =
          new SecretBuilder()
              .withNewMetadata()
              .withName("robusto-database")
              .withNamespace(target[0])
              .withAnnotations(Map.of("kubernetes.io/service-account.name", target[1]))
              .endMetadata()
              .withType("kubernetes.io/service-account-token")
              .build();
      assertRefused(
          () -> operatorClient.resource(tokenSecret).create(),
          "the operator may not create secrets in namespace " + target[0]);
    }
    var binding =
        new RoleBindingBuilder()
            .withNewMetadata()
            .withName("operator-edits-itself")
            .withNamespace(NAMESPACE)
            .endMetadata()
            .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", "edit")
            .addNewSubject()
            .withKind("ServiceAccount")
            .withName(LocalCluster.RELEASE)
            .withNamespace(NAMESPACE)
            .endSubject()
            .build();
    assertRefused(
        () -> operatorClient.resource(binding).create(),
        "the operator may not create rolebindings in namespace " + NAMESPACE);
    assertRefused(
        () ->
            operatorClient
                .apps()
                .deployments()
                .inNamespace(NAMESPACE)
                .withName(CHECKPOINTER)
                .edit(
                    d -> {
                      d.getSpec().getTemplate().getSpec().getContainers().get(0).setImage("forged");
                      return d;
                    }),
        "the operator may not update deployments in namespace " + NAMESPACE);
    // Nor make a namespace look like a tenant's to get there.
    assertRefused(
        () ->
            operatorClient
                .namespaces()
                .withName("kube-system")
                .edit(
                    n -> {
                      n.getMetadata().getLabels().put(Tenant.TENANT_LABEL, "kube");
                      return n;
                    }),
        "the operator may not update namespace kube-system");
  }

  /** The policy lets the operator put back a tenant namespace's label that someone removed. */
  @Test
  void aTenantNamespaceWhoseLabelWasRemovedIsLabelledAgain() {
    var cluster = LocalCluster.get();
    try (var admin = cluster.client()) {
      var namespace = TestTenants.ready(admin, "etiqueta", Tier.STARTUP, null);
      try {
        cluster.kubectl("label", "namespace", namespace, Tenant.TENANT_LABEL + "-");
        org.awaitility.Awaitility.await("the operator labels its tenant's namespace again")
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    "etiqueta"
                        .equals(
                            admin
                                .namespaces()
                                .withName(namespace)
                                .get()
                                .getMetadata()
                                .getLabels()
                                .get(Tenant.TENANT_LABEL)));
      } finally {
        cluster.kubectlResult("delete", "tenant", "etiqueta", "--wait=false");
      }
    }
  }

  @Test
  void theOperatorKeepsTheNamespacesItCreatesUnderPodSecurity() {
    var name = "tenantlike-" + Long.toHexString(System.nanoTime());
    assertRefused(
        () -> operatorClient.resource(namespace(name, Map.of(Tenant.TENANT_LABEL, "x"))).create(),
        "the operator may not create namespace " + name);
    operatorClient
        .resource(
            namespace(
                name,
                Map.of(Tenant.TENANT_LABEL, "x", "pod-security.kubernetes.io/enforce", "baseline")))
        .create();
    try {
      assertRefused(
          () ->
              operatorClient
                  .namespaces()
                  .withName(name)
                  .edit(
                      n -> {
                        n.getMetadata()
                            .getLabels()
                            .put("pod-security.kubernetes.io/enforce", "privileged");
                        return n;
                      }),
          "the operator may not update namespace " + name);
    } finally {
      LocalCluster.get().kubectlResult("delete", "namespace", name, "--wait=false");
    }
  }

  @Test
  void theCheckpointerMayDoNothingButWriteCheckpoints() throws Exception {
    try (var client = checkpointerClient()) {
      var secrets =
          catchThrowableOfType(
              KubernetesClientException.class,
              () -> client.secrets().inNamespace(NAMESPACE).list());
      assertThat(secrets.getCode()).isEqualTo(403);
      append(1);
      var written =
          checkpointer(client, 1, Duration.ofHours(1))
              .round(Instant.now().plus(Duration.ofDays(3)))
              .orElseThrow();
      // Not even the identity that wrote it may take a checkpoint back.
      assertRefused(
          () ->
              client
                  .configMaps()
                  .inNamespace(NAMESPACE)
                  .withName(AuditCheckpoints.PREFIX + written.seq())
                  .delete(),
          "cannot delete resource \"configmaps\"");
    }
    var reader =
        Postgres.get()
            .dataSource("robusto", Postgres.CHECKPOINTER_ROLE, Postgres.CHECKPOINTER_PASSWORD);
    try (var c = reader.getConnection();
        var s = c.createStatement()) {
      try (var rs = s.executeQuery("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")) {
        assertThat(rs.next()).isTrue();
      }
      for (var sql :
          new String[] {
            "SELECT actor FROM audit_log LIMIT 1",
            "SELECT count(*) FROM automation_items",
            "SELECT count(*) FROM tenant_payload_keys",
            "INSERT INTO audit_log (actor, action, resource) VALUES ('x', 'y', 'z')",
            "UPDATE audit_log SET hash = hash WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq > 0"
          }) {
        assertThatThrownBy(() -> s.execute(sql))
            .as(sql)
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("permission denied");
      }
    }
  }

  private static io.fabric8.kubernetes.api.model.batch.v1.Job job(
      String namespace, String serviceAccount) {
    return new JobBuilder()
        .withNewMetadata()
        .withName("forge-checkpoints")
        .withNamespace(namespace)
        .endMetadata()
        .withNewSpec()
        .withNewTemplate()
        .withNewSpec()
        .withServiceAccountName(serviceAccount)
        .withRestartPolicy("Never")
        .addNewContainer()
        .withName("forge")
        .withImage("robusto-operator:dev")
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  private static io.fabric8.kubernetes.api.model.Namespace namespace(
      String name, Map<String, String> labels) {
    return new io.fabric8.kubernetes.api.model.NamespaceBuilder()
        .withNewMetadata()
        .withName(name)
        .withLabels(labels)
        .endMetadata()
        .build();
  }

  /** How many Events in the release namespace say {@code message}. */
  private static long eventsSaying(String message) {
    return java.util.Arrays.stream(events(LocalCluster.get(), NAMESPACE).split("\n"))
        .filter(line -> line.contains(message))
        .count();
  }

  private static String events(LocalCluster cluster, String namespace) {
    return cluster.kubectl(
        "get",
        "events",
        "-n",
        namespace,
        "-o",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}");
  }

  private static void asSuperuser(String database, String sql) throws SQLException {
    try (var c = Postgres.get().superuser(database);
        var s = c.createStatement()) {
      s.execute("SET session_replication_role = replica");
      s.execute(sql);
    }
  }

  private void append(int rows) {
    for (var i = 0; i < rows; i++) {
      log.append(new AuditEntry("test", "update", "ConfigMap/x/cp", "acme", "h" + i, "h" + i));
    }
  }

  private static io.fabric8.kubernetes.api.model.ConfigMap checkpointMap(
      String name, boolean labelled) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(NAMESPACE)
        .withLabels(labelled ? Map.of(AuditCheckpoints.LABEL, "true") : Map.of())
        .endMetadata()
        .withData(Map.of("seq", "1", "hash", "0".repeat(64)))
        .build();
  }

  /** {@code call} is refused with a 403 that says one of {@code messages}. */
  private static void assertRefused(Runnable call, String... messages) {
    var refused = catchThrowableOfType(KubernetesClientException.class, call::run);
    assertThat(refused).as("refused: " + String.join(" or ", messages)).isNotNull();
    assertThat(refused.getCode()).isEqualTo(403);
    assertThat(messages).anySatisfy(message -> assertThat(refused.getMessage()).contains(message));
  }
}
