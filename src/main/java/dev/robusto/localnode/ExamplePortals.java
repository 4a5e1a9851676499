package dev.robusto.localnode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The seeds' three test merchants, served on loopback for local runs (examples/local-portals/): a
 * worker's http processor POSTs a ticket with its key as Idempotency-Key, as to a real portal.
 *
 * <ul>
 *   <li>{@code /oxxo/facturas}: always invoices (201).
 *   <li>{@code /litro-mil/facturas}: refuses a ticket whose RFC is not one (422), for good.
 *   <li>{@code /simple-portal/facturas}: slow (a few hundred ms) and flaky: every third call
 *       answers 503, which workers retry.
 * </ul>
 *
 * Each portal takes one credential (Authorization: Bearer, as examples/local-portals/ gives its
 * Merchant); any other is answered 401. Litro Mil's Merchant holds last year's in primary and this
 * year's in fallback, so its status shows a rotation half done. A key already invoiced is answered
 * 200 without invoicing it again, as the Idempotency-Key contract says; {@code GET /<portal>/stats}
 * counts invoices, replays and refusals, so a person can see that no ticket was invoiced twice.
 * {@code POST /<portal>/outage} with {@code {"down": true}} takes a portal down (every call
 * answered 503) until the same with {@code false}: the drill for dead letters and their redrive.
 */
public final class ExamplePortals implements AutoCloseable {

  /** RFC of a person (4 letters) or a company (3), a date, and a 3-character check. */
  private static final Pattern RFC = Pattern.compile("^[A-ZÑ&]{3,4}[0-9]{6}[A-Z0-9]{3}$");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;

  /** One portal's counts: invoices per key (more than one would be a ticket invoiced twice). */
  private static final class Counts {
    final Map<String, AtomicLong> invoices = new ConcurrentHashMap<>();
    final AtomicLong calls = new AtomicLong();
    final AtomicLong replays = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    final AtomicLong unavailable = new AtomicLong();
    final AtomicLong unauthorized = new AtomicLong();
    final java.util.concurrent.atomic.AtomicBoolean down =
        new java.util.concurrent.atomic.AtomicBoolean();
  }

  private interface Behaviour {
    /** The status for a first invoice attempt of {@code ticket}, after any delay it takes. */
    int answer(JsonNode ticket, long call) throws InterruptedException;
  }

  public ExamplePortals(int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    serve("oxxo", "oxxo-demo-2026", (ticket, call) -> 201);
    serve(
        "litro-mil",
        "litro-mil-demo-2026",
        (ticket, call) -> RFC.matcher(ticket.path("rfc").asText()).matches() ? 201 : 422);
    serve(
        "simple-portal",
        "simple-portal-demo-2026",
        (ticket, call) -> {
          Thread.sleep(150 + (call * 137) % 450);
          return call % 3 == 0 ? 503 : 201;
        });
    server.setExecutor(Executors.newFixedThreadPool(16));
  }

  public ExamplePortals start() {
    server.start();
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void serve(String portal, String credential, Behaviour behaviour) {
    var counts = new Counts();
    server.createContext(
        "/" + portal + "/facturas",
        exchange -> {
          try {
            var key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
            var body = exchange.getRequestBody().readAllBytes();
            if (!"POST".equals(exchange.getRequestMethod()) || key == null) {
              reply(exchange, 400, "{\"error\": \"POST a ticket with an Idempotency-Key\"}");
              return;
            }
            var call = counts.calls.incrementAndGet();
            if (!("Bearer " + credential)
                .equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
              counts.unauthorized.incrementAndGet();
              reply(exchange, 401, "{\"error\": \"credencial inválida\"}");
              return;
            }
            if (counts.down.get()) {
              counts.unavailable.incrementAndGet();
              reply(exchange, 503, "{\"error\": \"portal en mantenimiento\"}");
              return;
            }
            if (counts.invoices.containsKey(key)) {
              counts.replays.incrementAndGet();
              reply(exchange, 200, "{\"replayed\": true}");
              return;
            }
            var status = behaviour.answer(JSON.readTree(body), call);
            switch (status) {
              // Two first calls with one key at once would both count here: seen, not hidden.
              case 201 ->
                  counts.invoices.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
              case 422 -> counts.refused.incrementAndGet();
              default -> counts.unavailable.incrementAndGet();
            }
            reply(
                exchange,
                status,
                status == 422 ? "{\"error\": \"RFC inválido\"}" : "{\"uuid\": \"" + key + "\"}");
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (IOException | RuntimeException e) {
            // A malformed ticket: the portal's own 400.
            reply(exchange, 400, "{\"error\": \"the ticket is not JSON\"}");
          } finally {
            exchange.close();
          }
        });
    server.createContext(
        "/" + portal + "/outage",
        exchange -> {
          try (exchange) {
            try {
              // JSON only: a web page's form or no-cors request cannot send it.
              var type = exchange.getRequestHeaders().getFirst("Content-Type");
              var down = JSON.readTree(exchange.getRequestBody()).path("down");
              if (!"POST".equals(exchange.getRequestMethod())
                  || type == null
                  || !type.startsWith("application/json")
                  || !down.isBoolean()) {
                reply(exchange, 400, "{\"error\": \"POST {\\\"down\\\": true} or false as JSON\"}");
                return;
              }
              counts.down.set(down.asBoolean());
              reply(
                  exchange, 200, JSON.createObjectNode().put("down", down.asBoolean()).toString());
            } catch (IOException | RuntimeException e) {
              reply(exchange, 400, "{\"error\": \"the body is not JSON\"}");
            }
          }
        });
    server.createContext(
        "/" + portal + "/stats",
        exchange -> {
          try (exchange) {
            reply(
                exchange,
                200,
                JSON.createObjectNode()
                    .put("invoiced", counts.invoices.size())
                    .put(
                        "invoicedTwice",
                        counts.invoices.values().stream().filter(n -> n.get() > 1).count())
                    .put("calls", counts.calls.get())
                    .put("replays", counts.replays.get())
                    .put("refused", counts.refused.get())
                    .put("unavailable", counts.unavailable.get())
                    .put("unauthorized", counts.unauthorized.get())
                    .put("down", counts.down.get())
                    .toString());
          }
        });
  }

  private static void reply(HttpExchange exchange, int status, String json) {
    try {
      var bytes = json.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, bytes.length);
      exchange.getResponseBody().write(bytes);
    } catch (IOException e) {
      // the worker went away; it retries with the same key
    }
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }

  /** {@code ExamplePortals [PORT]}: serves the three portals (default port 18080) until stopped. */
  public static void main(String[] args) throws Exception {
    var port = args.length > 0 ? Integer.parseInt(args[0]) : 18080;
    var portals = new ExamplePortals(port).start();
    System.out.printf(
        "example portals on http://127.0.0.1:%d/{oxxo,litro-mil,simple-portal}/facturas%n",
        portals.port());
    Thread.currentThread().join();
  }
}
