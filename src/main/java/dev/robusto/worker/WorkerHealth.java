package dev.robusto.worker;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * What a worker pod's probes ask, on its health port (8081; ROBUSTO_WORKER_HEALTH_PORT, 0 for any):
 * {@code /live} answers 503 once the work loop has not moved for longer than it ever may (a
 * ticket's timeout twice, plus the database patience: a hung thread, not a slow portal or a
 * database outage, which the worker outlasts or exits on by itself); {@code /ready} answers 200
 * once the worker has claimed from the database. Nothing else is served.
 */
final class WorkerHealth {

  static final int DEFAULT_PORT = 8081;

  private final Duration stallLimit;
  private final LongSupplier nanoTime;
  private volatile long lastProgress;
  private volatile boolean connected;

  WorkerHealth(WorkerConfig config, LongSupplier nanoTime) {
    this.stallLimit =
        Duration.ofMillis(2 * config.itemTimeoutMillis())
            .plus(Worker.DATABASE_PATIENCE)
            .plus(Duration.ofMinutes(1));
    this.nanoTime = nanoTime;
    this.lastProgress = nanoTime.getAsLong();
  }

  /** The work loop moved: a claim was answered or a ticket was processed. */
  void progress() {
    lastProgress = nanoTime.getAsLong();
    connected = true;
  }

  boolean live() {
    return nanoTime.getAsLong() - lastProgress <= stallLimit.toNanos();
  }

  boolean ready() {
    return connected;
  }

  /** Serves /live and /ready on {@code port} until the process ends; returns the port bound. */
  int serve(int port) throws IOException {
    var server = HttpServer.create(new InetSocketAddress(port), 4);
    server.createContext("/live", exchange -> answer(exchange, live()));
    server.createContext("/ready", exchange -> answer(exchange, ready()));
    server.start();
    return server.getAddress().getPort();
  }

  private static void answer(com.sun.net.httpserver.HttpExchange exchange, boolean ok)
      throws IOException {
    var body = (ok ? "UP" : "DOWN").getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
    try (var out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
