package dev.robusto.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK nodes)
 * started by {@code hack/local-cluster} from the binaries {@code hack/build-control-plane} caches.
 * One shared per test JVM ({@link #get}), stopped when the JVM exits; a test whose operators must
 * not meet the in-process one starts a cluster of its own ({@link #startSeparate}).
 */
public final class LocalCluster {

  /** The Helm release the tests install; its full name is also its ServiceAccount's name. */
  public static final String RELEASE = "robusto-operator";

  public static final String RELEASE_NAMESPACE = "robusto-system";

  private static LocalCluster instance;

  private final Path projectDir;
  private final Path stateDir;
  private final Path kubeconfig;

  private LocalCluster(Path projectDir, Path stateDir, Path kubeconfig) {
    this.projectDir = projectDir;
    this.stateDir = stateDir;
    this.kubeconfig = kubeconfig;
  }

  public static synchronized LocalCluster get() {
    if (instance == null) {
      instance = start("local-cluster-" + ProcessHandle.current().pid());
    }
    return instance;
  }

  /** A control plane of its own, with the CRDs; {@link #stop} it when done. */
  public static LocalCluster startSeparate(String name) {
    return start("local-cluster-" + ProcessHandle.current().pid() + "-" + name);
  }

  private static LocalCluster start(String stateName) {
    var project = projectDir();
    var state = project.resolve("target/" + stateName);
    var started = new LocalCluster(project, state, state.resolve("kubeconfig"));
    started.run(List.of("hack/local-cluster", "up"), 600);
    Runtime.getRuntime().addShutdownHook(new Thread(started::stop));
    started.kubectl("apply", "--server-side", "-f", project.resolve("crds").toString());
    started.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s");
    return started;
  }

  /**
   * Installs the Helm chart (ServiceAccount, ClusterRole; the CRDs are applied when the cluster
   * starts) with no operator pod, and returns a token of the chart's ServiceAccount: the operator
   * under test runs with exactly the permissions the chart grants, so a missing RBAC rule fails the
   * tests.
   */
  public synchronized String installChartAndIssueOperatorToken() {
    var chart = projectDir.resolve("helm/robusto-operator").toString();
    checked(
        helm(
            "upgrade",
            "--install",
            RELEASE,
            chart,
            "-n",
            RELEASE_NAMESPACE,
            "--create-namespace",
            "--set",
            "replicaCount=0",
            "--set",
            "database.password=unused-by-tests",
            "--set",
            "database.owner.password=unused-by-tests-owner",
            "--set",
            "audit.checkpointer.database.password=unused-by-tests-checkpointer",
            "--set",
            "audit.checkpointer.replicas=0", // a test runs it in process, as its ServiceAccount
            "--set",
            "crds.install=false", // applied at start, as a platform team may manage CRDs itself
            "--set",
            "tls.extraIPs={127.0.0.1}", // the operator under test serves HTTPS on loopback
            "--set",
            "admissionAudit.enabled=false", // on only where a test asks (AdmissionAuditIT)
            "--wait",
            "--timeout",
            "120s"));
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s");
    return kubectl("create", "token", RELEASE, "-n", RELEASE_NAMESPACE, "--duration=12h").strip();
  }

  public static Path projectDir() {
    return Path.of(System.getProperty("robusto.projectDir", ".")).toAbsolutePath().normalize();
  }

  /** The cached binaries: -Drobusto.controlPlaneBin, else what hack/build-control-plane prints. */
  public static Path binDir() {
    var configured = System.getProperty("robusto.controlPlaneBin", "");
    if (!configured.isBlank() && !configured.startsWith("${")) {
      return Path.of(configured);
    }
    var out = checked(exec(projectDir(), List.of("hack/build-control-plane"), 1800, null));
    var lines = out.strip().split("\n");
    return Path.of(lines[lines.length - 1].strip());
  }

  public Config config() {
    return Config.fromKubeconfig(read(kubeconfig));
  }

  public KubernetesClient client() {
    return new KubernetesClientBuilder().withConfig(config()).build();
  }

  /** Runs the real kubectl against this cluster; fails the test if kubectl fails. */
  public String kubectl(String... args) {
    return checked(kubectlResult(args));
  }

  /** Runs kubectl and returns its output and exit code, for commands expected to fail. */
  public Result kubectlResult(String... args) {
    return tool("kubectl", 120, args);
  }

  /** Runs the real helm against this cluster. */
  public Result helm(String... args) {
    return tool("helm", 300, args);
  }

  private Result tool(String name, int timeoutSeconds, String... args) {
    var command = new ArrayList<String>();
    command.add(binDir().resolve(name).toString());
    command.add("--kubeconfig=" + kubeconfig);
    command.addAll(List.of(args));
    return exec(projectDir, command, timeoutSeconds, stateDir);
  }

  private void run(List<String> command, int timeoutSeconds) {
    checked(exec(projectDir, command, timeoutSeconds, stateDir));
  }

  /** Where this cluster keeps its state (ROBUSTO_CLUSTER_DIR of the hack/ scripts). */
  public Path stateDir() {
    return stateDir;
  }

  /** Stops the control plane and deletes its state (idempotent). */
  public void stop() {
    exec(projectDir, List.of("hack/local-cluster", "down"), 60, stateDir);
  }

  /**
   * A kubeconfig file that authenticates with {@code token}, for operators run as processes (what
   * hack/lib.sh's operator_kubeconfig writes for local runs).
   */
  public Path kubeconfigWithToken(String token) {
    var file =
        stateDir.resolve("operator-" + Integer.toHexString(token.hashCode()) + ".kubeconfig");
    var text =
        """
        apiVersion: v1
        kind: Config
        clusters: [{name: local, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
        users: [{name: operator, user: {token: "%s"}}]
        contexts: [{name: operator, context: {cluster: local, user: operator}}]
        current-context: operator
        """
            .formatted(config().getMasterUrl(), token);
    try {
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return file;
  }

  /** A command's exit code and its standard output and error, interleaved. */
  public record Result(int exitCode, String output) {}

  public static String checked(Result result) {
    if (result.exitCode() != 0) {
      throw new IllegalStateException(
          "command failed (" + result.exitCode() + "):\n" + result.output());
    }
    return result.output();
  }

  public static Result exec(Path dir, List<String> command, int timeoutSeconds, Path clusterDir) {
    try {
      var builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
      if (clusterDir != null) {
        builder.environment().put("ROBUSTO_CLUSTER_DIR", clusterDir.toString());
      }
      var output = Files.createTempFile("robusto-exec", ".log");
      builder.redirectOutput(output.toFile());
      var process = builder.start();
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " timed out");
      }
      var text = Files.readString(output, StandardCharsets.UTF_8);
      Files.delete(output);
      return new Result(process.exitValue(), text);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String read(Path path) {
    try {
      return Files.readString(path);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
