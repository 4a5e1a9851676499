package dev.robusto.worker;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code http} processor: POSTs an item's payload to the tenant's automation service with the
 * item's key as {@code Idempotency-Key}, so a retried or re-claimed item is not acted on twice. 2xx
 * succeeds; 4xx is permanent (the request itself is wrong) except 408 and 429; 5xx, timeouts and
 * connection errors are retried. Each endpoint has a circuit breaker.
 */
public final class HttpProcessor implements ItemProcessor {

  private final URI endpoint;
  private final HttpClient client;
  private final Duration timeout;
  private final Clock clock;
  private final Map<String, CircuitBreaker> breakers = new ConcurrentHashMap<>();

  public HttpProcessor(URI endpoint, Duration timeout, Clock clock) {
    this.endpoint = endpoint;
    this.client = HttpClient.newBuilder().connectTimeout(timeout).build();
    this.timeout = timeout;
    this.clock = clock;
  }

  @Override
  public Result process(String idempotencyKey, String payloadJson, int attempt) {
    var breaker =
        breakers.computeIfAbsent(
            circuitName(endpoint),
            k ->
                new CircuitBreaker(
                    CircuitBreaker.DEFAULT_FAILURES, CircuitBreaker.DEFAULT_COOL_DOWN, clock));
    if (!breaker.allow()) {
      return new Result(
          Verdict.DEFERRED, "circuit open for " + endpoint.getHost() + " after repeated failures");
    }
    var request =
        HttpRequest.newBuilder(endpoint)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", idempotencyKey)
            .POST(HttpRequest.BodyPublishers.ofString(payloadJson))
            .build();
    try {
      var status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      var result = classify(status);
      if (result.verdict() == Verdict.RETRY) {
        breaker.failure();
      } else {
        breaker.success();
      }
      return result;
    } catch (IOException e) {
      breaker.failure();
      return new Result(Verdict.RETRY, e.getClass().getSimpleName() + " calling " + endpoint);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(Verdict.RETRY, "interrupted");
    }
  }

  @Override
  public Map<String, Boolean> circuits() {
    var states = new java.util.TreeMap<String, Boolean>();
    breakers.forEach((endpoint, breaker) -> states.put(endpoint, breaker.isOpen()));
    return states;
  }

  /** host:port, lowercase, the scheme's port when the URL names none: how circuits are named. */
  static String circuitName(URI endpoint) {
    var port = endpoint.getPort();
    if (port < 0) {
      port = "https".equalsIgnoreCase(endpoint.getScheme()) ? 443 : 80;
    }
    return endpoint.getHost().toLowerCase(java.util.Locale.ROOT) + ":" + port;
  }

  static Result classify(int status) {
    if (status >= 200 && status < 300) {
      return Result.SUCCESS;
    }
    if (status == 408 || status == 429 || status >= 500) {
      return new Result(Verdict.RETRY, "HTTP " + status);
    }
    return new Result(
        Verdict.PERMANENT_FAILURE, "HTTP " + status + ": the service refused the request");
  }
}
