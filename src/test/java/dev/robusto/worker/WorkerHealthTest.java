package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WorkerHealthTest {

  private final AtomicLong now = new AtomicLong();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aWorkerIsReadyOnceItClaimedAndLiveUntilItsLoopHangsPastItsLongestWait() throws Exception {
    var config =
        new ObjectMapper()
            .readValue(
                "{\"batchId\": \"00000000-0000-0000-0000-0000000000f1\", \"processor\":"
                    + " \"simulated\", \"itemTimeoutMillis\": 30000}",
                WorkerConfig.class);
    var health = new WorkerHealth(config, now::get);
    var port = health.serve(0);
    assertThat(get(port, "/ready")).as("before its first claim").isEqualTo(503);
    assertThat(get(port, "/live")).isEqualTo(200);

    health.progress();
    assertThat(get(port, "/ready")).isEqualTo(200);
    // Two ticket timeouts, the database patience and a minute: a slow portal or an outage pass.
    advance(Duration.ofSeconds(60).plus(Worker.DATABASE_PATIENCE).plusMinutes(1));
    assertThat(get(port, "/live")).isEqualTo(200);
    advance(Duration.ofSeconds(1));
    assertThat(get(port, "/live")).as("a loop hung past every wait it may make").isEqualTo(503);
    health.progress();
    assertThat(get(port, "/live")).isEqualTo(200);
  }

  private void advance(Duration by) {
    now.addAndGet(by.toNanos());
  }

  private int get(int port, String path) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }
}
