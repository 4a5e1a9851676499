package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The http processor against a real HTTP server on 127.0.0.1 standing in for a merchant portal. */
class HttpProcessorTest {

  private HttpServer server;
  private final List<String> keys = new CopyOnWriteArrayList<>();
  private final AtomicInteger status = new AtomicInteger(200);
  private volatile long delayMillis;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/invoice",
        exchange -> {
          keys.add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
          exchange.getRequestBody().readAllBytes();
          try {
            Thread.sleep(delayMillis);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          exchange.sendResponseHeaders(status.get(), -1);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @ParameterizedTest
  @CsvSource({
    "200, SUCCEEDED",
    "201, SUCCEEDED",
    "204, SUCCEEDED",
    "400, PERMANENT_FAILURE",
    "404, PERMANENT_FAILURE",
    "422, PERMANENT_FAILURE",
    "408, RETRY",
    "429, RETRY",
    "500, RETRY",
    "503, RETRY"
  })
  void statusesAreClassifiedAsTheIssueSays(int code, ItemProcessor.Verdict verdict) {
    status.set(code);
    var result = processor(Clock.systemUTC()).process("ticket-7", "{\"rfc\":\"XAXX010101000\"}", 1);
    assertThat(result.verdict()).isEqualTo(verdict);
    assertThat(keys).containsExactly("ticket-7");
  }

  @Test
  void aTimeoutIsRetried() {
    delayMillis = 1_500;
    var result =
        new HttpProcessor(endpoint(), Duration.ofMillis(500), Clock.systemUTC())
            .process("ticket-8", "{}", 1);
    assertThat(result.verdict()).isEqualTo(ItemProcessor.Verdict.RETRY);
    assertThat(result.detail()).contains("Timeout");
  }

  @Test
  void theCircuitOpensAfterFiveFailuresAndTriesAgainAfterTheCoolDown() {
    var clock = new MutableClock();
    var processor = processor(clock);
    status.set(503);
    for (int i = 0; i < 5; i++) {
      assertThat(processor.process("k" + i, "{}", 1).verdict())
          .isEqualTo(ItemProcessor.Verdict.RETRY);
    }
    var refused = processor.process("k5", "{}", 1);
    assertThat(refused.verdict())
        .as("not attempted while open, so no attempt is used up")
        .isEqualTo(ItemProcessor.Verdict.DEFERRED);
    assertThat(refused.detail()).contains("circuit open");
    assertThat(keys).as("no request while open").hasSize(5);

    clock.advance(Duration.ofSeconds(61));
    var trial = processor.process("trial", "{}", 1);
    assertThat(trial.detail()).as("one trial goes out and fails").isEqualTo("HTTP 503");
    assertThat(processor.process("k5b", "{}", 1).detail())
        .as("a failed trial opens the circuit again")
        .contains("circuit open");

    clock.advance(Duration.ofSeconds(61));
    status.set(200);
    assertThat(processor.process("k6", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(processor.process("k7", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(keys).hasSize(8);
  }

  /** A timeout no answer of this server comes near, even on a busy machine's first request. */
  private HttpProcessor processor(Clock clock) {
    return new HttpProcessor(endpoint(), Duration.ofSeconds(10), clock);
  }

  private URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/invoice");
  }

  private static final class MutableClock extends Clock {
    private Instant now = Instant.parse("2026-11-30T12:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }
}
