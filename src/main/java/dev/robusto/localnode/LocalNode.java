package dev.robusto.localnode;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * A node agent for a machine without containers: it plays the kubelet for Robusto's worker pods
 * (batch Jobs' and fleets'), and for nothing else. KWOK leaves those pods Pending on their fake
 * node (hack/kwok-stages.yaml); this starts each as a real worker process with the pod's
 * environment (Secret references resolved, Secret volumes written and kept current, as the kubelet
 * does), reports it Running and Ready, then Succeeded or Failed with the process's exit code. A
 * deleted pod's process gets SIGTERM. The tests use it, and hack/run-local runs it ({@link
 * LocalNodeMain}) so that the examples' tickets are processed.
 */
public final class LocalNode implements AutoCloseable {

  private final KubernetesClient client;
  private final String image;
  private final ContainerImage containerImage;
  private final Path logs;
  private final Map<String, Process> processes = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicInteger alive =
      new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger peak =
      new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.Set<String> livePods = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicInteger peakPods =
      new java.util.concurrent.atomic.AtomicInteger();
  private final SharedIndexInformer<Pod> informer;
  private final Map<String, Runnable> secretVolumes = new ConcurrentHashMap<>();
  private final java.util.concurrent.ScheduledExecutorService volumeRefresh =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> {
            var thread = new Thread(r, "local-node-volumes");
            thread.setDaemon(true);
            return thread;
          });

  /**
   * How often a mounted Secret's files are brought up to date (a kubelet takes up to a minute or
   * two; this is quicker, so tests of a rotation do not wait).
   */
  static final java.time.Duration VOLUME_REFRESH = java.time.Duration.ofSeconds(2);

  /**
   * Runs the worker pods the scheduler placed on a node, in {@code namespace} (every namespace if
   * null), of {@code image} (any image if null: the process runs this artifact's worker whatever
   * the pod names), writing each process's output to {@code logs}.
   */
  public LocalNode(KubernetesClient client, String namespace, String image, Path logs) {
    this(client, namespace, image, null, logs);
  }

  /**
   * The same, but the pods whose image is one of {@code containerImage}'s tags run in it (its
   * entrypoint or the pod's command, its root filesystem, its user), the others as above.
   */
  public LocalNode(
      KubernetesClient client,
      String namespace,
      String image,
      ContainerImage containerImage,
      Path logs) {
    this.client = client;
    this.image = image;
    this.containerImage = containerImage;
    this.logs = logs;
    var pods =
        namespace == null ? client.pods().inAnyNamespace() : client.pods().inNamespace(namespace);
    volumeRefresh.scheduleWithFixedDelay(
        () -> secretVolumes.values().forEach(Runnable::run),
        VOLUME_REFRESH.toMillis(),
        VOLUME_REFRESH.toMillis(),
        java.util.concurrent.TimeUnit.MILLISECONDS);
    this.informer =
        pods.withLabelIn("app.kubernetes.io/component", "batch-worker", "fleet-worker")
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod pod) {
                    countPod(pod);
                    maybeStart(pod);
                  }

                  @Override
                  public void onUpdate(Pod old, Pod pod) {
                    countPod(pod);
                    if (pod.getMetadata().getDeletionTimestamp() != null) {
                      stop(pod);
                    } else {
                      maybeStart(pod);
                      keepReady(pod);
                    }
                  }

                  @Override
                  public void onDelete(Pod pod, boolean unknownState) {
                    livePods.remove(key(pod));
                    stop(pod);
                  }
                });
  }

  /**
   * The most worker processes alive at once so far, counted at each start and exit: where a breach
   * of a concurrency cap would happen, so none goes unseen between two samples.
   */
  public int peak() {
    return peak.get();
  }

  /**
   * The most worker pods that existed at once so far and had not finished (Pending, Running, or
   * being deleted), counted at every change the API server reported.
   */
  public int peakPods() {
    return peakPods.get();
  }

  private void countPod(Pod pod) {
    var phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
      livePods.remove(key(pod));
    } else if (livePods.add(key(pod))) {
      peakPods.accumulateAndGet(livePods.size(), Math::max);
    }
  }

  /** How many worker processes are alive now. */
  public int running() {
    return (int) processes.values().stream().filter(Process::isAlive).count();
  }

  /** Pods are named per namespace; processes are keyed by both. */
  private static String key(Pod pod) {
    return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
  }

  private synchronized void maybeStart(Pod pod) {
    var name = pod.getMetadata().getName();
    var container = pod.getSpec().getContainers().get(0);
    if (pod.getSpec().getNodeName() == null
        || !"Pending".equals(pod.getStatus().getPhase())
        || (image != null && !image.equals(container.getImage()))
        || processes.containsKey(key(pod))) {
      return;
    }
    Process process;
    try {
      var env = environment(pod);
      mountSecretVolumes(pod, inImage(container), env);
      process =
          inImage(container)
              ? startInImage(container, env, name)
              : WorkerProcesses.start(env, name, logs);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    processes.put(key(pod), process);
    peak.accumulateAndGet(alive.incrementAndGet(), Math::max);
    var started = Instant.now().toString();
    patchStatus(
        pod,
        p -> {
          p.getStatus().setPhase("Running");
          p.getStatus().setStartTime(started);
          p.getStatus().setPodIP("10.244.0." + (1 + Math.abs(name.hashCode() % 250)));
          p.getStatus().setConditions(ready(true, null, started));
          p.getStatus()
              .setContainerStatuses(
                  containerStatus(
                      container,
                      true,
                      new ContainerStateBuilder()
                          .withNewRunning()
                          .withStartedAt(started)
                          .endRunning()));
          return p;
        });
    process
        .onExit()
        .thenAccept(
            exited -> {
              alive.decrementAndGet();
              secretVolumes.remove(key(pod));
              reportExit(pod, container, exited.exitValue());
            });
  }

  private boolean inImage(Container container) {
    return containerImage != null && containerImage.config().tags().contains(container.getImage());
  }

  /** As a kubelet does: the pod's command replaces the entrypoint, its args the image's cmd. */
  private Process startInImage(Container container, Map<String, String> env, String name)
      throws IOException {
    var config = containerImage.config();
    var command = new java.util.ArrayList<String>();
    var args = container.getArgs() == null ? java.util.List.<String>of() : container.getArgs();
    if (container.getCommand() == null || container.getCommand().isEmpty()) {
      command.addAll(config.entrypoint());
      command.addAll(args.isEmpty() ? config.cmd() : args);
    } else {
      command.addAll(container.getCommand());
      command.addAll(args);
    }
    env.put("ROBUSTO_WORKER_NAME", name);
    // Containers here share the machine's network: each worker takes any free health port.
    env.put("ROBUSTO_WORKER_HEALTH_PORT", "0");
    Files.createDirectories(logs);
    return containerImage.start(command, env, logs.resolve(name + ".log"));
  }

  /**
   * When a node's lease lapses (KWOK renews it, but a loaded machine can delay that), the node
   * controller marks its pods not Ready; a kubelet sets them Ready again while their containers
   * run, and so does this.
   */
  private void keepReady(Pod pod) {
    var process = processes.get(key(pod));
    var conditions = pod.getStatus().getConditions();
    var ready =
        conditions != null
            && conditions.stream()
                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    if (process == null
        || !process.isAlive()
        || ready
        || !"Running".equals(pod.getStatus().getPhase())) {
      return;
    }
    var now = Instant.now().toString();
    patchStatus(
        pod,
        p -> {
          p.getStatus().setConditions(ready(true, null, now));
          return p;
        });
  }

  private void reportExit(Pod pod, Container container, int exitCode) {
    var finished = Instant.now().toString();
    patchStatus(
        pod,
        p -> {
          p.getStatus().setPhase(exitCode == 0 ? "Succeeded" : "Failed");
          p.getStatus()
              .setConditions(ready(false, exitCode == 0 ? "PodCompleted" : "PodFailed", finished));
          p.getStatus()
              .setContainerStatuses(
                  containerStatus(
                      container,
                      false,
                      new ContainerStateBuilder()
                          .withNewTerminated()
                          .withExitCode(exitCode)
                          .withReason(exitCode == 0 ? "Completed" : "Error")
                          .withFinishedAt(finished)
                          .endTerminated()));
          return p;
        });
  }

  /** The pod's Ready condition, as a kubelet sets it. */
  private static java.util.List<io.fabric8.kubernetes.api.model.PodCondition> ready(
      boolean ready, String reason, String since) {
    return java.util.List.of(
        new PodConditionBuilder()
            .withType("Ready")
            .withStatus(ready ? "True" : "False")
            .withReason(reason)
            .withLastTransitionTime(since)
            .build());
  }

  /** The worker container's status: running (and ready) or terminated. */
  private static java.util.List<io.fabric8.kubernetes.api.model.ContainerStatus> containerStatus(
      Container container, boolean running, ContainerStateBuilder state) {
    return java.util.List.of(
        new ContainerStatusBuilder()
            .withName(container.getName())
            .withImage(container.getImage())
            .withImageID(container.getImage())
            .withReady(running)
            .withStarted(running)
            .withRestartCount(0)
            .withState(state.build())
            .build());
  }

  private void stop(Pod pod) {
    var process = processes.get(key(pod));
    if (process != null && process.isAlive()) {
      process.destroy(); // SIGTERM, as the kubelet does on deletion
    }
  }

  /**
   * The pod's Secret volumes, as files under a folder of its own (processes here share one mount
   * namespace): each mount's path is under the folder the worker is given as ROBUSTO_LOCAL_ROOT,
   * and the files follow the Secret's changes, as a kubelet's do. A missing Secret or key writes no
   * file (the volumes the operator asks for are optional).
   */
  private void mountSecretVolumes(Pod pod, boolean inImage, Map<String, String> env)
      throws IOException {
    var container = pod.getSpec().getContainers().get(0);
    if (container.getVolumeMounts() == null || pod.getSpec().getVolumes() == null) {
      return;
    }
    var podFolder = Path.of("pods", pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    Path root;
    if (inImage) {
      root = containerImage.rootfs().resolve("tmp").resolve(podFolder);
      env.put("ROBUSTO_LOCAL_ROOT", "/tmp/" + podFolder);
    } else {
      root = logs.resolve(podFolder).toAbsolutePath();
      env.put("ROBUSTO_LOCAL_ROOT", root.toString());
    }
    var refreshes = new java.util.ArrayList<Runnable>();
    for (var mount : container.getVolumeMounts()) {
      pod.getSpec().getVolumes().stream()
          .filter(v -> v.getName().equals(mount.getName()) && v.getSecret() != null)
          .findFirst()
          .ifPresent(
              volume -> {
                var folder = root.resolve(mount.getMountPath().replaceFirst("^/+", "")).normalize();
                if (!folder.startsWith(root)) {
                  return; // a mount path that climbs out of the pod's folder gets nothing
                }
                refreshes.add(() -> writeSecret(pod, volume.getSecret(), root, folder));
              });
    }
    Runnable refresh = () -> refreshes.forEach(Runnable::run);
    refresh.run();
    secretVolumes.put(key(pod), refresh);
  }

  private void writeSecret(
      Pod pod, io.fabric8.kubernetes.api.model.SecretVolumeSource source, Path root, Path folder) {
    try {
      Files.createDirectories(folder);
      // A folder a pod's process turned into a link out of the pod's gets nothing written.
      if (!folder.toRealPath().startsWith(root.toRealPath())) {
        return;
      }
      var secret =
          client
              .secrets()
              .inNamespace(pod.getMetadata().getNamespace())
              .withName(source.getSecretName())
              .get();
      var data =
          secret == null || secret.getData() == null ? Map.<String, String>of() : secret.getData();
      var items = new HashMap<String, String>();
      if (source.getItems() == null || source.getItems().isEmpty()) {
        data.keySet().forEach(k -> items.put(k, k));
      } else {
        source.getItems().forEach(i -> items.put(i.getKey(), i.getPath()));
      }
      for (var item : items.entrySet()) {
        var file = folder.resolve(item.getValue()).normalize();
        var value = data.get(item.getKey());
        if (!file.getParent().equals(folder)) {
          continue; // an item path with folders or "..": not written
        }
        if (value == null) {
          Files.deleteIfExists(file);
          continue;
        }
        var next = folder.resolve("." + item.getValue() + ".tmp");
        Files.write(next, Base64.getDecoder().decode(value));
        Files.move(
            next,
            file,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException | KubernetesClientException e) {
      // As a kubelet does: the files stay as they were until the next refresh succeeds.
    }
  }

  /** The container's environment, resolved as the kubelet resolves it. */
  private Map<String, String> environment(Pod pod) {
    var env = new HashMap<String, String>();
    for (EnvVar var : pod.getSpec().getContainers().get(0).getEnv()) {
      if (var.getValue() != null) {
        env.put(var.getName(), var.getValue());
      } else if (var.getValueFrom().getFieldRef() != null) {
        env.put(var.getName(), pod.getMetadata().getName());
      } else if (var.getValueFrom().getConfigMapKeyRef() != null) {
        var ref = var.getValueFrom().getConfigMapKeyRef();
        var map =
            client
                .configMaps()
                .inNamespace(pod.getMetadata().getNamespace())
                .withName(ref.getName())
                .get();
        if (map != null && map.getData() != null && map.getData().get(ref.getKey()) != null) {
          env.put(var.getName(), map.getData().get(ref.getKey()));
        }
      } else if (var.getValueFrom().getSecretKeyRef() != null) {
        var ref = var.getValueFrom().getSecretKeyRef();
        var secret =
            client
                .secrets()
                .inNamespace(pod.getMetadata().getNamespace())
                .withName(ref.getName())
                .get();
        var value =
            secret == null || secret.getData() == null ? null : secret.getData().get(ref.getKey());
        if (value != null) {
          env.put(
              var.getName(), new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));
        } else if (!Boolean.TRUE.equals(ref.getOptional())) {
          // As a kubelet does: the container cannot start without it.
          throw new IllegalStateException(
              "Secret %s has no key %s for %s"
                  .formatted(ref.getName(), ref.getKey(), var.getName()));
        }
      }
    }
    return env;
  }

  private void patchStatus(Pod pod, UnaryOperator<Pod> change) {
    for (int attempt = 0; attempt < 10; attempt++) {
      try {
        var current =
            client
                .pods()
                .inNamespace(pod.getMetadata().getNamespace())
                .withName(pod.getMetadata().getName())
                .get();
        if (current == null) {
          return;
        }
        client.resource(change.apply(current)).updateStatus();
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          return; // the pod is gone
        }
      }
    }
  }

  /** Stops at once: every worker process is killed, as when a node dies. */
  @Override
  public void close() {
    informer.close();
    volumeRefresh.shutdownNow();
    processes.values().forEach(Process::destroyForcibly);
  }

  /**
   * Stops as a node being drained: every worker gets SIGTERM (it finishes the ticket in hand and
   * gives the rest back), and those still running after {@code grace} are killed.
   */
  public void shutdown(java.time.Duration grace) throws InterruptedException {
    informer.close();
    volumeRefresh.shutdownNow();
    processes.values().forEach(Process::destroy);
    var deadline = System.nanoTime() + grace.toNanos();
    for (var process : processes.values()) {
      var left = deadline - System.nanoTime();
      if (left <= 0 || !process.waitFor(left, java.util.concurrent.TimeUnit.NANOSECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
