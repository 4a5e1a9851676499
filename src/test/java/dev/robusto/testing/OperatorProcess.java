package dev.robusto.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The packaged operator (target/quarkus-app, as the chart's pod runs it, in the prod profile) as a
 * process of this test, on a free loopback port. Its output goes to target/operator-logs/.
 */
public final class OperatorProcess implements AutoCloseable {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String name;
  private final int port;
  private final Process process;

  private OperatorProcess(String name, int port, Process process) {
    this.name = name;
    this.port = port;
    this.process = process;
  }

  /** Starts the jar with {@code env} (kubeconfig, database, ...) and identity {@code name}. */
  public static OperatorProcess start(String name, Map<String, String> env) throws IOException {
    var project = LocalCluster.projectDir();
    var jar = project.resolve("target/quarkus-app/quarkus-run.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar + " is missing: run ./mvnw verify (package builds it)");
    }
    var logs = project.resolve("target/operator-logs");
    Files.createDirectories(logs);
    var port = freePort();
    var java = ProcessHandle.current().info().command().orElse("java");
    var builder =
        new ProcessBuilder(List.of(java, "-Xmx256m", "-jar", jar.toString()))
            .directory(project.toFile())
            .redirectErrorStream(true)
            .redirectOutput(logs.resolve(name + ".log").toFile());
    builder.environment().putAll(env);
    builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
    builder.environment().put("POD_NAME", name);
    return new OperatorProcess(name, port, builder.start());
  }

  /**
   * Starts the operator role of an image (its entrypoint, as the chart's pod runs it) with {@code
   * env}; files the container needs (a kubeconfig) must lie in its root filesystem.
   */
  public static OperatorProcess inImage(
      String name, dev.robusto.localnode.ContainerImage image, Map<String, String> env)
      throws IOException {
    var logs = LocalCluster.projectDir().resolve("target/operator-logs");
    Files.createDirectories(logs);
    var port = freePort();
    var all = new java.util.HashMap<>(env);
    all.put("QUARKUS_HTTP_PORT", Integer.toString(port));
    all.put("POD_NAME", name);
    return new OperatorProcess(
        name, port, image.start(List.of(), all, logs.resolve(name + ".log")));
  }

  public String name() {
    return name;
  }

  /** Its HTTP port, on loopback. */
  public int port() {
    return port;
  }

  /** Its process id (in an image, the entrypoint's own: unshare execs it). */
  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** GET on its HTTP port: the status code and body, or -1 when it does not answer. */
  public HttpResult get(String path) {
    return get(path, null);
  }

  /** A GET with a bearer token (when not null). */
  public HttpResult get(String path, String token) {
    try {
      var request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
              .timeout(Duration.ofSeconds(5));
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      var response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new HttpResult(response.statusCode(), response.body());
    } catch (IOException e) {
      return new HttpResult(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new HttpResult(-1, e.toString());
    }
  }

  /** POST with a bearer token and a JSON body. */
  public HttpResult post(String path, String token, String json) throws Exception {
    var response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new HttpResult(response.statusCode(), response.body());
  }

  /** Waits until its readiness check answers 200. */
  public void awaitReady(Duration timeout) throws InterruptedException {
    var deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited; see " + log());
      }
      if (get("/q/health/ready").status() == 200) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(name + " was not ready in " + timeout + "; see " + log());
  }

  /** SIGKILL: the process dies without releasing anything, as when its node fails. */
  public void kill() throws InterruptedException {
    process.destroyForcibly().waitFor();
  }

  /** SIGTERM, as the kubelet sends it; true when the process exited within {@code timeout}. */
  public boolean terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    return process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  public Path log() {
    return LocalCluster.projectDir().resolve("target/operator-logs/" + name + ".log");
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(
        Duration.ofSeconds(20).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }

  public record HttpResult(int status, String body) {}

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
