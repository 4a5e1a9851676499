package dev.robusto.localnode;

import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -cp <the operator's classpath> dev.robusto.localnode.LocalNodeMain LOG_DIR
 * [IMAGE_TARBALL]}: runs a {@link LocalNode} for every namespace with the cluster of KUBECONFIG
 * (the admin's: it reads the tenants' database Secrets as a kubelet would), until SIGTERM, which
 * drains it. With an image tarball (Jib's target/jib-image.tar), the pods of that image run in it
 * ({@link ContainerImage}). hack/run-local starts it next to the operator.
 */
public final class LocalNodeMain {

  private static final Duration DRAIN = Duration.ofSeconds(25);

  private LocalNodeMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 2) {
      System.err.println(
          "usage: LocalNodeMain LOG_DIR [IMAGE_TARBALL] (worker processes' output goes to LOG_DIR;"
              + " pods of the tarball's image run in it)");
      System.exit(2);
    }
    ContainerImage image = null;
    Path rootfs = null;
    if (args.length == 2) {
      rootfs = Files.createTempDirectory("robusto-local-node").resolve("rootfs");
      image = ContainerImage.load(Path.of(args[1]), rootfs);
      System.out.printf("local node: %s unpacked in %s%n", image.config().tags(), rootfs);
    }
    var unpacked = rootfs;
    var client = new KubernetesClientBuilder().build();
    var node = new LocalNode(client, null, null, image, Path.of(args[0]));
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
                    if (unpacked != null) {
                      try {
                        ContainerImage.deleteTree(unpacked.getParent());
                      } catch (java.io.IOException e) {
                        System.err.println("local node: could not delete " + unpacked + ": " + e);
                      }
                    }
                    stopped.countDown();
                  }
                }));
    System.out.printf(
        "local node: running Robusto worker pods of %s as processes, logs in %s%n",
        client.getMasterUrl(), args[0]);
    stopped.await();
  }
}
