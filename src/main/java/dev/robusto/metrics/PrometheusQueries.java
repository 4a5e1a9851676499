package dev.robusto.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Instant queries against Prometheus's HTTP API (robusto.prometheus.url), for flag auto-disable and
 * canary analysis. A query must come down to one number: a scalar or a single series. An empty
 * answer, or NaN (a rate over no traffic), is no data.
 */
@ApplicationScoped
public class PrometheusQueries {

  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Optional<URI> server;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();

  public PrometheusQueries(@ConfigProperty(name = "robusto.prometheus.url") Optional<URI> server) {
    this.server = server;
  }

  /** The query's value now, or empty when there is no data. */
  public OptionalDouble query(String promql) throws MetricUnavailableException {
    var base =
        server.orElseThrow(
            () ->
                new MetricUnavailableException(
                    "No Prometheus is configured: set the chart value prometheus.url"
                        + " (robusto.prometheus.url)."));
    var uri =
        URI.create(
            base.toString().replaceAll("/+$", "")
                + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    JsonNode answer;
    int status;
    try {
      var response =
          http.send(
              HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      status = response.statusCode();
      answer = JSON.readTree(response.body());
    } catch (IOException e) {
      throw new MetricUnavailableException(
          "Prometheus at " + base + " did not answer: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MetricUnavailableException("Interrupted while asking Prometheus.");
    }
    if (!"success".equals(answer.path("status").asText())) {
      throw new MetricUnavailableException(
          "Prometheus refused the query %s (HTTP %d): %s"
              .formatted(promql, status, answer.path("error").asText("no error given")));
    }
    var data = answer.path("data");
    var result = data.path("result");
    JsonNode sample;
    switch (data.path("resultType").asText()) {
      case "scalar" -> sample = result;
      case "vector" -> {
        if (result.isEmpty()) {
          return OptionalDouble.empty();
        }
        if (result.size() > 1) {
          throw new MetricUnavailableException(
              "The query %s returns %d series; aggregate it to one (sum, max, ...)."
                  .formatted(promql, result.size()));
        }
        sample = result.get(0).path("value");
      }
      default ->
          throw new MetricUnavailableException(
              "The query %s returns a %s; it must return a scalar or one series."
                  .formatted(promql, data.path("resultType").asText()));
    }
    var value = number(sample.get(1).asText());
    return Double.isNaN(value) ? OptionalDouble.empty() : OptionalDouble.of(value);
  }

  /** Prometheus writes infinities as +Inf and -Inf. */
  private static double number(String text) {
    return switch (text) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(text);
    };
  }
}
