package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.batch.AutomationBatchStatus;
import dev.robusto.localnode.ContainerImage;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.Charts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.OperatorProcess;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import dev.robusto.worker.WorkerEnvironment;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The image Jib builds (target/jib-image.tar, from ./mvnw verify or ./mvnw package -Pimage): what
 * its config promises a cluster, and both its roles run from it, each as the image's user: the
 * operator (its entrypoint) on a control plane of its own, and the workers of a batch, whose Jobs
 * name the image, in it ({@link ContainerImage}, the local node's runtime).
 */
@Tag("cluster")
class ImageIT {

  private static final Path TARBALL = LocalCluster.projectDir().resolve("target/jib-image.tar");
  private static final String NONROOT = "65532";
  private static final int TICKETS = 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private LocalCluster cluster;
  private Path unpacked;

  @AfterEach
  void cleanUp() throws Exception {
    if (cluster != null) {
      cluster.stop();
    }
    if (unpacked != null) {
      new ProcessBuilder("rm", "-rf", unpacked.toString()).start().waitFor();
    }
  }

  @Test
  void theImageRunsTheOperatorFromItsFastJarAsANonRootUserTheChartNames() throws Exception {
    var config = ContainerImage.readConfig(tarball());

    var chart =
        Files.readString(LocalCluster.projectDir().resolve("helm/robusto-operator/Chart.yaml"));
    var appVersion =
        chart.lines().filter(l -> l.startsWith("appVersion:")).findFirst().orElseThrow();
    var tag = appVersion.substring("appVersion:".length()).strip().replace("\"", "");
    assertThat(config.tags())
        .as("the chart's default image reference (repository robusto-operator, tag appVersion)")
        .contains("robusto-operator:" + tag);
    // runAsNonRoot in the chart needs a numeric user the kubelet can check.
    assertThat(config.user()).matches("[0-9]+(:[0-9]+)?");
    assertThat(config.user().split(":")[0]).isNotEqualTo("0");
    assertThat(config.workingDir())
        .as("Quarkus reads config/application.properties (the chart's ConfigMap) from here")
        .isEqualTo("/deployments");
    assertThat(config.entrypoint())
        .startsWith("java")
        .endsWith("-jar", "/deployments/quarkus-run.jar");
    assertThat(config.exposedPorts()).containsExactly("8080/tcp");
    assertThat(config.labels().get("dev.robusto.base.java")).startsWith("17.");
    assertThat(config.env().get("PATH")).startsWith("/opt/java/openjdk/bin:");
  }

  @Test
  void theOperatorAndTheWorkersOfABatchRunFromTheImageAsItsUser() throws Exception {
    assumeTrue(
        "0"
            .equals(
                new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes())
                    .strip()),
        "running an image's containers needs root, as a container runtime does");
    unpacked = Files.createTempDirectory("robusto-image-it");
    var image = ContainerImage.load(tarball(), unpacked.resolve("rootfs"));
    var tag = image.config().tags().get(0);
    var rootfs = image.rootfs();
    // What the workers' command and the chart's test pod run: java on the image's PATH, and the
    // classpath they name.
    assertThat(rootfs.resolve("opt/java/openjdk/bin/java")).isExecutable();
    assertThat(WorkerEnvironment.COMMAND)
        .contains("/deployments/app/*:/deployments/lib/main/*:/deployments/lib/boot/*");
    assertThat(rootfs.resolve("deployments/app")).isDirectory();
    assertThat(rootfs.resolve("deployments/lib/main")).isDirectory();

    cluster = LocalCluster.startSeparate("image");
    var kubeconfig = rootfs.resolve("tmp/operator.kubeconfig");
    Files.copy(
        cluster.kubeconfigWithToken(cluster.installChartAndIssueOperatorToken()), kubeconfig);
    Files.setPosixFilePermissions(kubeconfig, PosixFilePermissions.fromString("rw-r--r--"));
    var postgres = Postgres.get();
    postgres.newDatabase("image_roles");
    // The chart's init container: the schema migrated as its owner, in the image.
    var migrationLog = unpacked.resolve("migrate.log");
    var migration =
        image.start(
            Charts.migrationCommand(),
            Map.of(
                "QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl("image_roles"),
                "QUARKUS_DATASOURCE_USERNAME", Postgres.OPERATOR_ROLE,
                "ROBUSTO_DATABASE_OWNER_USERNAME", Postgres.OWNER_ROLE,
                "ROBUSTO_DATABASE_OWNER_PASSWORD", Postgres.OWNER_PASSWORD,
                "ROBUSTO_DATABASE_CHECKPOINTER_USERNAME", Postgres.CHECKPOINTER_ROLE),
            migrationLog);
    assertThat(migration.waitFor()).as(Files.readString(migrationLog)).isZero();
    var env =
        Map.of(
            "KUBECONFIG",
            "/tmp/operator.kubeconfig",
            "KUBERNETES_NAMESPACE",
            LocalCluster.RELEASE_NAMESPACE,
            "QUARKUS_DATASOURCE_JDBC_URL",
            postgres.jdbcUrl("image_roles"),
            "QUARKUS_DATASOURCE_USERNAME",
            Postgres.OPERATOR_ROLE,
            "QUARKUS_DATASOURCE_PASSWORD",
            Postgres.OPERATOR_PASSWORD,
            "ROBUSTO_BATCH_WORKER_IMAGE",
            tag);

    // The portal notes which user's socket each call came from (the kernel's socket table).
    var callers = ConcurrentHashMap.<String>newKeySet();
    var invoiced = ConcurrentHashMap.<String>newKeySet();
    var portal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    portal.createContext(
        "/facturas",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          callers.add(
              socketOwner(
                  exchange.getRemoteAddress().getPort(), exchange.getLocalAddress().getPort()));
          invoiced.add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
          exchange.sendResponseHeaders(201, -1);
          exchange.close();
        });
    portal.start();
    try (var client = cluster.client();
        var operator = OperatorProcess.inImage("image-operator", image, env);
        var node = new LocalNode(client, null, tag, image, WorkerProcesses.LOGS)) {
      operator.awaitReady(Duration.ofSeconds(120));
      assertThat(uid(operator.pid())).as("the operator's user").isEqualTo(NONROOT);
      // What "helm test" runs in the image, against this operator instead of its Service.
      var check = installCheckCommand();
      check.set(check.size() - 1, "http://127.0.0.1:" + operator.port());
      var checkLog = unpacked.resolve("install-check.log");
      var checking = image.start(check, Map.of(), checkLog);
      assertThat(checking.waitFor()).as(Files.readString(checkLog)).isZero();

      var namespace = TestTenants.ready(client, "imagen", Tier.STARTUP, null);
      client.resource(batch(namespace, portal.getAddress().getPort())).create();
      var workerImages = ConcurrentHashMap.<String>newKeySet();
      await("the image's workers finish the batch")
          .atMost(Duration.ofSeconds(180))
          .until(
              () -> {
                client
                    .pods()
                    .inNamespace(namespace)
                    .withLabel("app.kubernetes.io/component", "batch-worker")
                    .list()
                    .getItems()
                    .forEach(p -> workerImages.add(p.getSpec().getContainers().get(0).getImage()));
                var batch =
                    client
                        .resources(AutomationBatch.class)
                        .inNamespace(namespace)
                        .withName("en-imagen")
                        .get();
                return batch.getStatus() != null
                    && batch.getStatus().phase == AutomationBatchStatus.Phase.SUCCEEDED;
              });
      assertThat(workerImages).as("the images of the batch's worker pods").containsExactly(tag);
      assertThat(invoiced).hasSize(TICKETS);
      assertThat(callers).as("every call came from the image's user").containsExactly(NONROOT);

      // The chart's audit checkpointer, in the image, as its own ServiceAccount and login: it pins
      // the chain the operator appended to while it ran the batch.
      var checkpointerConfig = rootfs.resolve("tmp/checkpointer.kubeconfig");
      Files.copy(
          cluster.kubeconfigWithToken(
              cluster
                  .kubectl(
                      "create",
                      "token",
                      LocalCluster.RELEASE + "-audit-checkpointer",
                      "-n",
                      LocalCluster.RELEASE_NAMESPACE)
                  .strip()),
          checkpointerConfig);
      Files.setPosixFilePermissions(
          checkpointerConfig, PosixFilePermissions.fromString("rw-r--r--"));
      var checkpointerLog = unpacked.resolve("checkpointer.log");
      var checkpointer =
          image.start(
              Charts.checkpointerCommand(),
              Map.of(
                  "KUBECONFIG",
                  "/tmp/checkpointer.kubeconfig",
                  "ROBUSTO_OPERATOR_NAMESPACE",
                  LocalCluster.RELEASE_NAMESPACE,
                  "QUARKUS_DATASOURCE_JDBC_URL",
                  postgres.jdbcUrl("image_roles"),
                  "QUARKUS_DATASOURCE_USERNAME",
                  Postgres.CHECKPOINTER_ROLE,
                  "QUARKUS_DATASOURCE_PASSWORD",
                  Postgres.CHECKPOINTER_PASSWORD,
                  "ROBUSTO_AUDIT_CHECKPOINT_POLL",
                  "1s"),
              checkpointerLog);
      try {
        await("a checkpoint written by the image's checkpointer")
            .atMost(Duration.ofSeconds(60))
            .failFast(() -> !checkpointer.isAlive())
            .until(
                () ->
                    !client
                        .configMaps()
                        .inNamespace(LocalCluster.RELEASE_NAMESPACE)
                        .withLabel("robusto.dev/audit-checkpoint", "true")
                        .list()
                        .getItems()
                        .isEmpty());
        assertThat(uid(checkpointer.pid())).as("the checkpointer's user").isEqualTo(NONROOT);
      } catch (org.awaitility.core.ConditionTimeoutException
          | org.awaitility.core.TerminalFailureException e) {
        throw new AssertionError(Files.readString(checkpointerLog), e);
      } finally {
        checkpointer.destroy();
      }
    } finally {
      portal.stop(0);
    }
  }

  /** The command of the chart's test pod, its last argument the Service's URL. */
  private static List<String> installCheckCommand() throws java.io.IOException {
    var template =
        Files.readAllLines(
            LocalCluster.projectDir()
                .resolve("helm/robusto-operator/templates/tests/install-check.yaml"));
    var command = new java.util.ArrayList<String>();
    var inCommand = false;
    for (var line : template) {
      if (line.strip().equals("command:")) {
        inCommand = true;
      } else if (inCommand && line.strip().startsWith("- ")) {
        command.add(line.strip().substring(2));
      } else if (inCommand) {
        break;
      }
    }
    assertThat(command).as("the test pod's command").contains("dev.robusto.operator.InstallCheck");
    return command;
  }

  private static Path tarball() {
    assertThat(TARBALL)
        .as(
            "the image: ./mvnw verify builds it before the *IT tests (-Drobusto.image.skip=true"
                + " skips it), ./mvnw package -Pimage alone")
        .exists();
    return TARBALL;
  }

  private static AutomationBatch batch(String namespace, int portalPort) {
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder().withName("en-imagen").withNamespace(namespace).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.url = "http://127.0.0.1:" + portalPort + "/facturas";
    spec.parallelism = 2;
    spec.items =
        IntStream.range(0, TICKETS)
            .mapToObj(
                i -> {
                  var item = new AutomationBatchSpec.Item();
                  item.key = "imagen-" + i;
                  item.payload = JSON.createObjectNode().put("total", 100 + i);
                  return item;
                })
            .toList();
    batch.setSpec(spec);
    return batch;
  }

  /** The real uid of a process, from /proc. */
  private static String uid(long pid) throws Exception {
    return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
        .filter(l -> l.startsWith("Uid:"))
        .map(l -> l.split("\\s+")[1])
        .findFirst()
        .orElseThrow();
  }

  /**
   * The uid owning the live client end of a loopback connection to the portal. Both ends of the
   * pair must match: the same ephemeral port can be in use towards another server, and sockets in
   * TIME_WAIT are listed with uid 0.
   */
  private static String socketOwner(int clientPort, int portalPort) {
    var local = ":%04X".formatted(clientPort);
    var remote = ":%04X".formatted(portalPort);
    var established = "01";
    try {
      for (var table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
        for (var line : Files.readAllLines(Path.of(table))) {
          var fields = line.strip().split("\\s+");
          if (fields.length > 7
              && fields[1].endsWith(local)
              && fields[2].endsWith(remote)
              && fields[3].equals(established)) {
            return fields[7];
          }
        }
      }
    } catch (java.io.IOException e) {
      return "unreadable: " + e.getMessage();
    }
    return "no live socket from port " + clientPort + " to " + portalPort;
  }
}
