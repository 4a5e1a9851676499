package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** What the chart's helm test runs, against the running operator and against nothing. */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class InstallCheckIT {

  @TestHTTPResource("/")
  URL operator;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @Test
  void aReadyOperatorServingOfrepPasses() throws Exception {
    var base = "http://" + operator.getHost() + ":" + operator.getPort();
    // Ready first: an informer reconnecting its watch (the API server ends watches every few
    // minutes) makes the operator unready for a moment, and this checks a ready one.
    var http = java.net.http.HttpClient.newHttpClient();
    org.awaitility.Awaitility.await("the operator ready")
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                http.send(
                            java.net.http.HttpRequest.newBuilder(
                                    java.net.URI.create(base + "/q/health/ready"))
                                .build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding())
                        .statusCode()
                    == 200);
    assertThat(check(base)).as(text(err)).isZero();
    assertThat(text(out)).contains("ok: " + base + " is ready and serves OFREP");
  }

  @Test
  void nothingListeningFailsWithWhatToLookAt() throws Exception {
    int port;
    try (var socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    assertThat(check("http://127.0.0.1:" + port)).isEqualTo(1);
    assertThat(text(err))
        .contains("attempt 2 of 2: cannot reach http://127.0.0.1:" + port)
        .contains("Look at its pods' readiness and logs");
    assertThat(InstallCheck.run(new String[] {"robusto"}, print(out), print(err))).isEqualTo(2);
    assertThat(text(err)).contains("usage: InstallCheck http://<service>.<namespace>.svc:8080");
  }

  private int check(String base) throws InterruptedException {
    return InstallCheck.run(new String[] {base}, print(out), print(err), 2, Duration.ofMillis(100));
  }

  private static PrintStream print(ByteArrayOutputStream buffer) {
    return new PrintStream(buffer, true, StandardCharsets.UTF_8);
  }

  private static String text(ByteArrayOutputStream buffer) {
    return buffer.toString(StandardCharsets.UTF_8);
  }
}
