package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The http processor calling a Merchant's portal (a real HTTP server on 127.0.0.1) with the two
 * credentials of a Secret's volume (files in a folder, as the kubelet writes them).
 */
class MerchantPortalTest {

  @TempDir Path secret;

  private HttpServer server;
  private final AtomicReference<String> accepted = new AtomicReference<>("primero");
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final AtomicLong clock = new AtomicLong();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/facturas",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          var authorization = exchange.getRequestHeaders().getFirst("Authorization");
          calls.add(
              authorization
                  + " "
                  + exchange.getRequestHeaders().getFirst("Robusto-Captcha-Solving"));
          exchange.sendResponseHeaders(
              ("Bearer " + accepted.get()).equals(authorization) ? 201 : 401, -1);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void aRefusedPrimaryFallsBackWithinTheAttemptAndStaysThere() throws IOException {
    keys("primero", "segundo");
    var processor = processor(List.of(url()));
    assertThat(processor.process("t-1", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);

    accepted.set("segundo");
    assertThat(processor.process("t-2", "{}", 1).verdict())
        .as("the 401 is retried at once with the fallback")
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(processor.process("t-3", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(calls)
        .containsExactly(
            "Bearer primero required",
            "Bearer primero required",
            "Bearer segundo required",
            "Bearer segundo required");
    var report = processor.merchantCalls().orElseThrow().take();
    assertThat(report).isEqualTo(new MerchantCalls.Report("oxxo", 3, 0, 1, "fallback"));

    // The rotation's last step: the value in use moves to primary, and is called primary.
    keys("segundo", "segundo");
    clock.addAndGet(Duration.ofSeconds(11).toNanos());
    assertThat(processor.process("t-4", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(processor.merchantCalls().orElseThrow().take().credential()).isEqualTo("primary");
  }

  @Test
  void bothRefusedWaitsWithoutAttemptsOrCallsUntilTheSecretChanges() throws IOException {
    keys("viejo", "viejo");
    accepted.set("nuevo");
    var processor = processor(List.of(url()));
    for (var i = 0; i < 8; i++) {
      var result = processor.process("t-" + i, "{}", 1);
      assertThat(result.verdict()).as("no attempt used").isEqualTo(ItemProcessor.Verdict.DEFERRED);
      assertThat(result.detail())
          .isEqualTo(
              "merchant oxxo refused both credentials (HTTP 401): put a valid one in its Secret;"
                  + " tickets wait for it");
    }
    assertThat(calls).as("refused credentials are not sent again and again").hasSize(1);
    assertThat(processor.circuits())
        .as("the portal answers: its circuit stays closed")
        .containsValue(false);
    assertThat(processor.merchantCalls().orElseThrow().take())
        .isEqualTo(new MerchantCalls.Report("oxxo", 0, 1, 1, "refused"));

    keys("viejo", "nuevo");
    clock.addAndGet(Duration.ofSeconds(11).toNanos()); // the Secret's files are read again
    assertThat(processor.process("t-9", "{}", 1).verdict())
        .as("a changed Secret is tried at once")
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(processor.merchantCalls().orElseThrow().take())
        .isEqualTo(new MerchantCalls.Report("oxxo", 1, 0, 1, "fallback"));
  }

  @Test
  void refusedCredentialsAreTriedAgainAfterAMinute() throws IOException {
    keys("viejo", "viejo");
    accepted.set("nuevo");
    var processor = processor(List.of(url()));
    processor.process("t-1", "{}", 1);
    clock.addAndGet(Duration.ofSeconds(30).toNanos());
    processor.process("t-2", "{}", 1);
    assertThat(calls).as("within the minute, no call").hasSize(1);
    accepted.set("viejo"); // the portal took the old one back
    clock.addAndGet(Duration.ofSeconds(31).toNanos());
    assertThat(processor.process("t-3", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
  }

  @Test
  void aMissingSecretSaysWhichKeysToAdd() {
    var result = processor(List.of(url())).process("t-1", "{}", 1);
    assertThat(result.verdict()).as("no attempt used").isEqualTo(ItemProcessor.Verdict.DEFERRED);
    assertThat(result.detail())
        .isEqualTo(
            "merchant oxxo: its credentials Secret has no usable primary or fallback (missing, or"
                + " not a header value); add both keys");
    assertThat(calls).as("no call without a credential").isEmpty();
  }

  @Test
  void aDeadUrlGivesWayToTheAlternativeAndItsCircuitOpens() throws IOException {
    keys("primero", "primero");
    int dead;
    try (var socket = new ServerSocket(0)) {
      dead = socket.getLocalPort();
    }
    var processor = processor(List.of("http://127.0.0.1:" + dead + "/facturas", url()));
    for (var i = 0; i < 5; i++) {
      assertThat(processor.process("t-" + i, "{}", 1).verdict())
          .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    }
    assertThat(processor.circuits())
        .containsEntry("127.0.0.1:" + dead, true)
        .containsEntry("127.0.0.1:" + server.getAddress().getPort(), false);
    assertThat(processor.process("t-5", "{}", 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(calls).hasSize(6);

    server.stop(0);
    for (var i = 0; i < 5; i++) {
      assertThat(processor.process("u-" + i, "{}", 1).verdict())
          .isEqualTo(ItemProcessor.Verdict.RETRY);
    }
    var deferred = processor.process("u-5", "{}", 1);
    assertThat(deferred.verdict())
        .as("every URL's circuit open")
        .isEqualTo(ItemProcessor.Verdict.DEFERRED);
    assertThat(deferred.detail())
        .isEqualTo("circuit open for every URL of merchant oxxo after repeated failures");
  }

  @Test
  void aCredentialNoHeaderCanCarryIsNeverSentNorShown() throws IOException {
    Files.writeString(secret.resolve("primary"), "s3cr3t\nX-Evil: 1");
    Files.writeString(secret.resolve("fallback"), "s3cr3t-\u00e9");
    var result = processor(List.of(url())).process("t-1", "{}", 1);
    assertThat(result.verdict()).isEqualTo(ItemProcessor.Verdict.DEFERRED);
    assertThat(result.detail()).doesNotContain("s3cr3t");
    assertThat(calls).isEmpty();
  }

  @Test
  void credentialsNeverShowInWhatTheProcessorReports() throws IOException {
    keys("s3cr3t-primero", "s3cr3t-segundo");
    accepted.set("otro");
    var processor = processor(List.of(url()));
    var result = processor.process("t-1", "{}", 1);
    var report = processor.merchantCalls().orElseThrow().take();
    assertThat(result.detail() + report).doesNotContain("s3cr3t");
  }

  private HttpProcessor processor(List<String> urls) {
    var portal =
        new HttpProcessor.Portal(
            "oxxo",
            urls.stream().map(URI::create).toList(),
            true,
            5,
            Duration.ofSeconds(60),
            "Authorization",
            "Bearer",
            new MerchantCredentials(secret, clock::get));
    return new HttpProcessor(portal, Duration.ofSeconds(2), Clock.systemUTC());
  }

  private String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/facturas";
  }

  private void keys(String primary, String fallback) throws IOException {
    Files.writeString(secret.resolve("primary"), primary + "\n");
    Files.writeString(secret.resolve("fallback"), fallback + "\n");
  }
}
