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
import org.jboss.logging.Logger;

/**
 * Instant queries against Prometheus's HTTP API (robusto.prometheus.url), for flag auto-disable and
 * canary analysis. A query must come down to one number: a scalar or a single series. An empty
 * answer, or NaN (a rate over no traffic), is no data.
 *
 * <p>Messages end up in statuses a tenant reads, so they never carry Prometheus's address or its
 * error text (which can quote series); the operator's log has both.
 */
@ApplicationScoped
public class PrometheusQueries {

  private static final Logger LOG = Logger.getLogger(PrometheusQueries.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Optional<URI> server;
  private final String namespaceLabel;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();

  public PrometheusQueries(
      @ConfigProperty(name = "robusto.prometheus.url") Optional<URI> server,
      @ConfigProperty(name = "robusto.prometheus.namespace-label", defaultValue = "namespace")
          String namespaceLabel) {
    this.server = server;
    this.namespaceLabel = namespaceLabel;
  }

  /**
   * A tenant's query, confined to the series of {@code namespace} ({@link PromqlConfinement}), and
   * its value now. Before it is run, Prometheus parses it and every selector of that parse must
   * carry the matcher; a query that cannot be confined is never run.
   */
  public OptionalDouble queryInNamespace(String promql, String namespace)
      throws MetricUnavailableException {
    String confined;
    try {
      confined = PromqlConfinement.confine(promql, namespaceLabel, namespace);
    } catch (IllegalArgumentException e) {
      throw new MetricUnavailableException(
          "The query cannot be confined to namespace %s (%s); write it without comments or unusual syntax."
              .formatted(namespace, e.getMessage()));
    }
    var parsed = ask("parse_query", confined).path("data");
    if (!parsed.has("type") || !everySelectorHas(parsed, namespace)) {
      LOG.warnf("Refused to send %s: Prometheus parses a selector without %s", confined, namespace);
      throw new MetricUnavailableException(
          "The query cannot be confined to namespace %s; it was not sent.".formatted(namespace));
    }
    return query(confined);
  }

  /**
   * Whether every selector in Prometheus's own parse of a query carries the namespace matcher: the
   * check does not trust {@link PromqlConfinement}'s reading of the query, only Prometheus's.
   */
  private boolean everySelectorHas(JsonNode node, String namespace) {
    if (node.isArray()) {
      for (var child : node) {
        if (!everySelectorHas(child, namespace)) {
          return false;
        }
      }
      return true;
    }
    if (!node.isObject()) {
      return true;
    }
    if (node.has("matchers")) {
      var confined = false;
      for (var matcher : node.get("matchers")) {
        confined |=
            "=".equals(matcher.path("type").asText())
                && namespaceLabel.equals(matcher.path("name").asText())
                && namespace.equals(matcher.path("value").asText());
      }
      if (!confined) {
        return false;
      }
    }
    for (var child : node) {
      if (!everySelectorHas(child, namespace)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Prometheus's successful answer to {@code /api/v1/<endpoint>?query=promql}; anything else is a
   * {@link MetricUnavailableException} whose message holds no address and no error text.
   */
  private JsonNode ask(String endpoint, String promql) throws MetricUnavailableException {
    var base =
        server.orElseThrow(
            () ->
                new MetricUnavailableException(
                    "No Prometheus is configured: set the chart value prometheus.url"
                        + " (robusto.prometheus.url)."));
    var uri =
        URI.create(
            base.toString().replaceAll("/+$", "")
                + "/api/v1/"
                + endpoint
                + "?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    JsonNode answer;
    int status;
    try {
      var response =
          http.send(
              HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      status = response.statusCode();
      if (status == 404 && endpoint.equals("parse_query")) {
        throw new MetricUnavailableException(
            "This Prometheus cannot parse a query for the operator to check it (2.47 or later"
                + " can): a fleet's queries are not sent.");
      }
      answer = JSON.readTree(response.body());
    } catch (IOException e) {
      LOG.warnf("Prometheus at %s did not answer %s: %s", base, promql, e.toString());
      throw new MetricUnavailableException(
          "Prometheus did not answer (" + e.getClass().getSimpleName() + ").");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MetricUnavailableException("Interrupted while asking Prometheus.");
    }
    if (!"success".equals(answer.path("status").asText())) {
      LOG.warnf(
          "Prometheus refused %s (HTTP %d): %s", promql, status, answer.path("error").asText());
      throw new MetricUnavailableException(
          "Prometheus refused the query (HTTP %d, %s); the operator's log has its answer."
              .formatted(status, errorType(answer)));
    }
    return answer;
  }

  /** The query's value now, or empty when there is no data. */
  public OptionalDouble query(String promql) throws MetricUnavailableException {
    var answer = ask("query", promql);
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
              "The query returns %d series; aggregate it to one (sum, max, ...)."
                  .formatted(result.size()));
        }
        sample = result.get(0).path("value");
      }
      default ->
          throw new MetricUnavailableException(
              "The query returns a %s; it must return a scalar or one series."
                  .formatted(errorType(data.path("resultType"))));
    }
    var value = number(sample.get(1).asText());
    return Double.isNaN(value) ? OptionalDouble.empty() : OptionalDouble.of(value);
  }

  /** Prometheus's error type (bad_data, timeout, ...) when it is a plain word; never free text. */
  private static String errorType(JsonNode answer) {
    var type = answer.isTextual() ? answer.asText() : answer.path("errorType").asText();
    return type.matches("[a-z_]{1,20}") ? type : "error";
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
