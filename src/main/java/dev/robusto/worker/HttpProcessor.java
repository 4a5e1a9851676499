package dev.robusto.worker;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code http} processor: POSTs an item's payload to the tenant's automation service with the
 * item's key as {@code Idempotency-Key}, so a retried or re-claimed item is not acted on twice. 2xx
 * succeeds; 4xx is permanent (the request itself is wrong) except 408 and 429; 5xx, timeouts and
 * connection errors are retried. Each endpoint has a circuit breaker.
 *
 * <p>For a Merchant, the portal's URLs are tried in order within one attempt (an alternative takes
 * over when the one before fails or its circuit is open; the Idempotency-Key makes that safe), each
 * call carries the credential in use, and a 401 is retried at once with the other credential.
 */
public final class HttpProcessor implements ItemProcessor {

  /**
   * A Merchant's portal: where to call, with what (no credentials: a portal that takes none), and
   * how its circuits behave.
   */
  record Portal(
      String merchant,
      List<URI> endpoints,
      boolean captchaSolving,
      int circuitFailures,
      Duration circuitOpenFor,
      String credentialHeader,
      String credentialScheme,
      MerchantCredentials credentials) {}

  /** Tells the automation service that the portal asks for a captcha, for its solver. */
  static final String CAPTCHA_HEADER = "Robusto-Captcha-Solving";

  private final List<URI> endpoints;
  private final Portal portal;
  private final MerchantCalls calls;
  private final HttpClient client;
  private final Duration timeout;
  private final Clock clock;
  private final Map<String, CircuitBreaker> breakers = new ConcurrentHashMap<>();

  /** Calls one URL, with no credential. */
  public HttpProcessor(URI endpoint, Duration timeout, Clock clock) {
    this(List.of(endpoint), null, timeout, clock);
  }

  /** Calls a Merchant's portal. */
  HttpProcessor(Portal portal, Duration timeout, Clock clock) {
    this(portal.endpoints(), portal, timeout, clock);
  }

  private HttpProcessor(List<URI> endpoints, Portal portal, Duration timeout, Clock clock) {
    this.endpoints = List.copyOf(endpoints);
    this.portal = portal;
    this.calls = portal == null ? null : new MerchantCalls(portal.merchant(), portal.credentials());
    this.client = HttpClient.newBuilder().connectTimeout(timeout).build();
    this.timeout = timeout;
    this.clock = clock;
  }

  /** What a call means for its endpoint's circuit. */
  private enum Circuit {
    SUCCESS,
    FAILURE,
    /** Not the portal's doing (a refused credential, an interrupt): the circuit is left alone. */
    UNTOUCHED
  }

  /** What one call came to, and what it means for its endpoint's circuit. */
  private record Call(Result result, Circuit circuit) {}

  @Override
  public Result process(String idempotencyKey, String payloadJson, int attempt) {
    Result last = null;
    for (var endpoint : endpoints) {
      var breaker = breaker(endpoint);
      if (!breaker.allow()) {
        continue;
      }
      var credential = Optional.<MerchantCredentials.Credential>empty();
      if (portal != null && portal.credentials() != null) {
        // Read for each URL: a fallback found on one serves the next.
        credential = portal.credentials().current();
        if (credential.isEmpty()) {
          breaker.release();
          return withoutCredential();
        }
      }
      var call = call(endpoint, idempotencyKey, payloadJson, credential);
      last = call.result();
      if (call.circuit() == Circuit.FAILURE) {
        breaker.failure();
        continue; // the next URL, if the merchant has one
      }
      if (call.circuit() == Circuit.SUCCESS) {
        breaker.success();
      } else {
        breaker.release();
      }
      break;
    }
    if (last == null) {
      return new Result(
          Verdict.DEFERRED,
          "circuit open for "
              + (endpoints.size() == 1
                  ? endpoints.get(0).getHost()
                  : "every URL of merchant " + portal.merchant())
              + " after repeated failures");
    }
    if (calls != null) {
      if (last.verdict() == Verdict.SUCCEEDED) {
        calls.succeeded();
      } else if (last.verdict() != Verdict.DEFERRED) {
        calls.failed();
      } else if (portal.credentials() != null && "refused".equals(portal.credentials().state())) {
        calls.failed();
      }
    }
    return last;
  }

  /**
   * No credential to send: the Secret lacks both, or the portal refused both and the Secret has not
   * changed since. The ticket waits without using an attempt; the Merchant's status says why.
   */
  private Result withoutCredential() {
    var refused = "refused".equals(portal.credentials().state());
    return new Result(
        Verdict.DEFERRED,
        refused
            ? ("merchant %s refused both credentials (HTTP 401): put a valid one in its Secret;"
                    + " tickets wait for it")
                .formatted(portal.merchant())
            : ("merchant %s: its credentials Secret has no usable primary or fallback (missing,"
                    + " or not a header value); add both keys")
                .formatted(portal.merchant()));
  }

  private Call call(
      URI endpoint,
      String idempotencyKey,
      String payloadJson,
      Optional<MerchantCredentials.Credential> credential) {
    try {
      var status = send(endpoint, idempotencyKey, payloadJson, credential);
      if (status == 401 && credential.isPresent()) {
        calls.fellBack();
        var other = portal.credentials().refused(credential.get());
        if (other.isPresent()) {
          credential = other;
          status = send(endpoint, idempotencyKey, payloadJson, other);
        }
        if (status == 401) {
          portal.credentials().bothRefused();
          return new Call(withoutCredential(), Circuit.UNTOUCHED);
        }
      }
      if (credential.isPresent()) {
        portal.credentials().accepted(credential.get());
      }
      var result = classify(status);
      return new Call(
          result, result.verdict() == Verdict.RETRY ? Circuit.FAILURE : Circuit.SUCCESS);
    } catch (IOException e) {
      return new Call(
          new Result(Verdict.RETRY, e.getClass().getSimpleName() + " calling " + endpoint),
          Circuit.FAILURE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Call(new Result(Verdict.RETRY, "interrupted"), Circuit.UNTOUCHED);
    } catch (RuntimeException e) {
      // A request the client refuses to send (a header it will not carry): the class only, as
      // the message may quote a header's value.
      return new Call(
          new Result(
              Verdict.RETRY, e.getClass().getSimpleName() + " building the request to " + endpoint),
          Circuit.UNTOUCHED);
    }
  }

  private int send(
      URI endpoint,
      String idempotencyKey,
      String payloadJson,
      Optional<MerchantCredentials.Credential> credential)
      throws IOException, InterruptedException {
    var request =
        HttpRequest.newBuilder(endpoint)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", idempotencyKey);
    if (credential.isPresent()) {
      var scheme = portal.credentialScheme();
      request.header(
          portal.credentialHeader(),
          scheme == null || scheme.isEmpty()
              ? credential.get().value()
              : scheme + " " + credential.get().value());
    }
    if (portal != null && portal.captchaSolving()) {
      request.header(CAPTCHA_HEADER, "required");
    }
    request.POST(HttpRequest.BodyPublishers.ofString(payloadJson));
    return client.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private CircuitBreaker breaker(URI endpoint) {
    return breakers.computeIfAbsent(
        circuitName(endpoint),
        k ->
            portal == null
                ? new CircuitBreaker(
                    CircuitBreaker.DEFAULT_FAILURES, CircuitBreaker.DEFAULT_COOL_DOWN, clock)
                : new CircuitBreaker(portal.circuitFailures(), portal.circuitOpenFor(), clock));
  }

  @Override
  public Map<String, Boolean> circuits() {
    var states = new java.util.TreeMap<String, Boolean>();
    breakers.forEach((endpoint, breaker) -> states.put(endpoint, breaker.isOpen()));
    return states;
  }

  @Override
  public Optional<MerchantCalls> merchantCalls() {
    return Optional.ofNullable(calls);
  }

  /** host:port, lowercase, the scheme's port when the URL names none: how circuits are named. */
  public static String circuitName(URI endpoint) {
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
