package dev.robusto.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server (what {@code hack/prerequisites} finds or obtains: Debian's package, or
 * one built from its Go module) scraping, every second, an exporter the tests feed: gauges they set
 * by name, served in Prometheus's text format. One per test JVM, on loopback.
 */
public final class Prometheus {

  private static Prometheus instance;

  private final Process server;
  private final HttpServer exporter;
  private final URI url;
  private final Path dir;
  private final Map<String, Double> gauges = new TreeMap<>();
  private final java.util.List<String> targets = new java.util.ArrayList<>();

  private Prometheus(Process server, HttpServer exporter, URI url, Path dir) {
    this.server = server;
    this.exporter = exporter;
    this.url = url;
    this.dir = dir;
  }

  public static synchronized Prometheus get() {
    if (instance == null) {
      try {
        instance = start();
        Runtime.getRuntime().addShutdownHook(new Thread(instance::stop));
      } catch (IOException e) {
        throw new IllegalStateException("Cannot start Prometheus", e);
      }
    }
    return instance;
  }

  public URI url() {
    return url;
  }

  /**
   * Sets a gauge the exporter serves, by series ({@code name} or {@code name{label="value"}});
   * Prometheus sees it at its next scrape (≤ 1 s).
   */
  public synchronized void set(String name, double value) {
    gauges.put(name, value);
  }

  /**
   * Scrapes {@code path} on a loopback {@code port} every second from now on, with label {@code
   * target="<name>"} on its series.
   */
  public synchronized void scrape(String name, int port, String path) {
    targets.add(
        "{\"targets\": [\"127.0.0.1:%d\"], \"labels\": {\"target\": \"%s\", \"__metrics_path__\": \"%s\"}}"
            .formatted(port, name, path));
    try {
      var file = dir.resolve("targets.json");
      var next = dir.resolve("targets.json.next");
      Files.writeString(next, "[" + String.join(",", targets) + "]");
      Files.move(next, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Stops serving a gauge: queries for it find no data once Prometheus marks it stale. */
  public synchronized void remove(String name) {
    gauges.remove(name);
  }

  private synchronized String exposition() {
    var text = new StringBuilder();
    var typed = new java.util.HashSet<String>();
    gauges.forEach(
        (series, value) -> {
          var name = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
          if (typed.add(name)) {
            text.append("# TYPE ").append(name).append(" gauge\n");
          }
          text.append(series).append(' ').append(value).append('\n');
        });
    return text.toString();
  }

  private static Prometheus start() throws IOException {
    var dir = Files.createTempDirectory("robusto-prometheus");
    var exporter = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    var holder = new Prometheus[1];
    exporter.createContext(
        "/metrics",
        exchange -> {
          var body = holder[0].exposition().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
          exchange.sendResponseHeaders(200, body.length);
          try (var out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    exporter.start();
    int port;
    try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    Files.writeString(
        dir.resolve("prometheus.yml"),
        """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: tests
            static_configs: [{targets: ["127.0.0.1:%d"]}]
          - job_name: scraped
            file_sd_configs: [{files: ["%s"], refresh_interval: 1s}]
        """
            .formatted(exporter.getAddress().getPort(), dir.resolve("targets.json")));
    Files.writeString(dir.resolve("targets.json"), "[]");
    var server =
        new ProcessBuilder(
                Prerequisites.path("prometheus").toString(),
                "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("prometheus.log").toFile())
            .start();
    var prometheus = new Prometheus(server, exporter, URI.create("http://127.0.0.1:" + port), dir);
    holder[0] = prometheus;
    prometheus.awaitReady();
    return prometheus;
  }

  private void awaitReady() throws IOException {
    var http = HttpClient.newHttpClient();
    var deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!server.isAlive()) {
        throw new IOException(
            "Prometheus exited: " + Files.readString(dir.resolve("prometheus.log")));
      }
      try {
        var ready =
            http.send(
                HttpRequest.newBuilder(url.resolve("/-/ready")).build(),
                HttpResponse.BodyHandlers.discarding());
        if (ready.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      try {
        TimeUnit.MILLISECONDS.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    throw new IOException("Prometheus not ready in 30 s: " + dir.resolve("prometheus.log"));
  }

  private void stop() {
    server.destroy();
    exporter.stop(0);
    try {
      server.waitFor(10, TimeUnit.SECONDS);
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    } catch (IOException | InterruptedException e) {
      // a leftover temporary directory is harmless
    }
  }
}
