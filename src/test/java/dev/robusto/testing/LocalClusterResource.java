package dev.robusto.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;

/**
 * Points the operator under test (a {@code @QuarkusTest}) at a real local control plane where the
 * Helm chart is installed, authenticated as the chart's ServiceAccount, and has it serve HTTPS with
 * the certificate the chart made (which covers 127.0.0.1 in test installs).
 */
public class LocalClusterResource implements QuarkusTestResourceLifecycleManager {

  /** The audit webhook's port of the operator under test (the chart's is 9443). */
  public static final int WEBHOOK_PORT = 8445;

  /** The chart's TLS Secret as files (tls.crt, tls.key, ca.crt), once read. */
  public static Path tls;

  /**
   * The chart's payload keys as the operator reads them, a file (as the pod mounts the Secret): a
   * test rotates them by writing it.
   */
  public static Path payloadKeys;

  @Override
  public Map<String, String> start() {
    var cluster = LocalCluster.get();
    var operatorToken = cluster.installChartAndIssueOperatorToken();
    tls = tlsFiles(cluster);
    payloadKeys = payloadKeysFile(cluster);
    return Map.of(
        "robusto.payload.keys-file",
        payloadKeys.toString(),
        "robusto.audit.webhook.port",
        Integer.toString(WEBHOOK_PORT),
        "robusto.audit.webhook.cert-file",
        tls.resolve("tls.crt").toString(),
        "robusto.audit.webhook.key-file",
        tls.resolve("tls.key").toString(),
        "quarkus.kubernetes-client.api-server-url",
        cluster.config().getMasterUrl(),
        "quarkus.kubernetes-client.token",
        operatorToken,
        "quarkus.kubernetes-client.trust-certs",
        "true",
        "quarkus.http.ssl.certificate.files",
        tls.resolve("tls.crt").toString(),
        "quarkus.http.ssl.certificate.key-files",
        tls.resolve("tls.key").toString());
  }

  /** The chart's TLS Secret as files, as the operator's pod mounts it. */
  private static Path tlsFiles(LocalCluster cluster) {
    try {
      var dir = Files.createTempDirectory("robusto-tls");
      for (var key : new String[] {"tls.crt", "tls.key", "ca.crt"}) {
        var data =
            cluster.kubectl(
                "get",
                "secret",
                LocalCluster.RELEASE + "-tls",
                "-n",
                LocalCluster.RELEASE_NAMESPACE,
                "-o",
                "jsonpath={.data." + key.replace(".", "\\.") + "}");
        Files.write(dir.resolve(key), Base64.getDecoder().decode(data.strip()));
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path payloadKeysFile(LocalCluster cluster) {
    try {
      var file = Files.createTempDirectory("robusto-payload-keys").resolve("payload-keys");
      var data =
          cluster.kubectl(
              "get",
              "secret",
              LocalCluster.RELEASE + "-payload-keys",
              "-n",
              LocalCluster.RELEASE_NAMESPACE,
              "-o",
              "jsonpath={.data.payload-keys}");
      Files.write(file, Base64.getDecoder().decode(data.strip()));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void stop() {
    // The cluster outlives a single Quarkus application; a JVM shutdown hook stops it.
  }
}
