package dev.robusto.localnode;

import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -cp <the operator's classpath> dev.robusto.localnode.LocalNodeMain LOG_DIR}: runs a
 * {@link LocalNode} for every namespace with the cluster of KUBECONFIG (the admin's: it reads the
 * tenants' database Secrets as a kubelet would), until SIGTERM, which drains it. hack/run-local
 * starts it next to the operator.
 */
public final class LocalNodeMain {

  private static final Duration DRAIN = Duration.ofSeconds(25);

  private LocalNodeMain() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 1) {
      System.err.println("usage: LocalNodeMain LOG_DIR (worker processes' output goes there)");
      System.exit(2);
    }
    var client = new KubernetesClientBuilder().build();
    var node = new LocalNode(client, null, null, Path.of(args[0]));
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    node.shutdown(DRAIN);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } finally {
                    client.close();
                    stopped.countDown();
                  }
                }));
    System.out.printf(
        "local node: running Robusto worker pods of %s as processes, logs in %s%n",
        client.getMasterUrl(), args[0]);
    stopped.await();
  }
}
