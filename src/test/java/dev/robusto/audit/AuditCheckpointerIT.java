package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
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
        new AuditCheckpoints.DatabaseChain(
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
      AuditApiIT.set(pinned.seq(), "hash", "0".repeat(64));
      try {
        assertThat(checkpointer.round(at.plusSeconds(1))).isEmpty();
        assertThat(LocalCluster.get().kubectl("get", "events", "-n", NAMESPACE))
            .contains("AuditChainTampered");
        var walked = verifications.full().verification();
        assertThat(walked.intact()).isFalse();
        assertThat(walked.firstBrokenSeq()).isEqualTo(pinned.seq());
        assertThat(checkpointer.round(at.plusSeconds(2))).as("not retried at once").isEmpty();
      } finally {
        AuditApiIT.set(pinned.seq(), "hash", original);
      }
      assertThat(checkpointer.round(at.plus(Duration.ofHours(2)))).as("restored").isPresent();
    }
  }

  @Test
  void theOperatorCannotWriteACheckpointNorTakeTheName() {
    var seq = Long.MAX_VALUE - 1;
    var labelled = checkpointMap(AuditCheckpoints.PREFIX + seq, true);
    assertRefused(
        () -> operatorClient.resource(labelled).create(),
        "may be written only by the audit checkpointer");
    var squatter = checkpointMap(AuditCheckpoints.PREFIX + seq, false);
    assertRefused(
        () -> operatorClient.resource(squatter).create(),
        "may be written only by the audit checkpointer");
    var elsewhere = checkpointMap("looks-harmless", true);
    assertRefused(
        () -> operatorClient.resource(elsewhere).create(),
        "may be written only by the audit checkpointer");
    // A cluster admin is held to it too (they prune by unbinding the policy, which is audited).
    var byAdmin =
        LocalCluster.get()
            .kubectlResult("create", "configmap", AuditCheckpoints.PREFIX + seq, "-n", NAMESPACE);
    assertThat(byAdmin.exitCode()).isNotZero();
    assertThat(byAdmin.output()).contains("may be written only by the audit checkpointer");
  }

  @Test
  void theOperatorCannotBecomeTheCheckpointerInItsOwnNamespace() {
    var job =
        new JobBuilder()
            .withNewMetadata()
            .withName("forge-checkpoints")
            .withNamespace(NAMESPACE)
            .endMetadata()
            .withNewSpec()
            .withNewTemplate()
            .withNewSpec()
            .withServiceAccountName(CHECKPOINTER)
            .withRestartPolicy("Never")
            .addNewContainer()
            .withName("forge")
            .withImage("robusto-operator:dev")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    assertRefused(
        () -> operatorClient.resource(job).create(),
        "the operator may not create jobs in its own namespace");
    // A legacy token Secret the token controller would fill with the checkpointer's token, under
    // the one Secret name the operator may read.
    var tokenSecret =
        new SecretBuilder()
            .withNewMetadata()
            .withName("robusto-database")
            .withNamespace(NAMESPACE)
            .withAnnotations(Map.of("kubernetes.io/service-account.name", CHECKPOINTER))
            .endMetadata()
            .withType("kubernetes.io/service-account-token")
            .build();
    assertRefused(
        () -> operatorClient.resource(tokenSecret).create(),
        "the operator may not create secrets in its own namespace");
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
        "the operator may not create rolebindings in its own namespace");
    assertRefused(
        () ->
            operatorClient
                .apps()
                .deployments()
                .inNamespace(NAMESPACE)
                .withName(CHECKPOINTER)
                .edit(
                    d ->
                        new io.fabric8.kubernetes.api.model.apps.DeploymentBuilder(d)
                            .editSpec()
                            .withReplicas(1)
                            .endSpec()
                            .build()),
        "the operator may not update deployments in its own namespace");
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

  private static void assertRefused(Runnable call, String message) {
    var refused = catchThrowableOfType(KubernetesClientException.class, call::run);
    assertThat(refused).as("refused: " + message).isNotNull();
    assertThat(refused.getCode()).isEqualTo(403);
    assertThat(refused.getMessage()).contains(message);
  }
}
