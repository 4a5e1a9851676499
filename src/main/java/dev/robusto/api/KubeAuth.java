package dev.robusto.api;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.robusto.operator.Hashes;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Who may call the operator's HTTP APIs: the caller's Kubernetes bearer token is checked with a
 * TokenReview, and what it wants to do with a SubjectAccessReview, so an API grants exactly what
 * the caller's RBAC grants (as kubectl would).
 *
 * <p>Both answers are cached in bounded caches (least recently and least often used go first), by
 * the token's hash, never the token: a token's identity for a minute, a refused token for 10 s, an
 * access decision for 30 s (a denial for 10 s). An identity or a grant in use is reviewed again in
 * the background before it expires (after 40 s and 20 s), so a caller in use never waits on the API
 * server, and a revoked token or a withdrawn grant is refused about as soon as its cached answer
 * would have expired, or sooner. A token not seen before costs a TokenReview, and those are limited
 * across all callers ({@code robusto.api.token-reviews-per-second}), so a flood of made-up tokens
 * gets 429s while known callers are answered from the cache. An API server that cannot answer gets
 * a 503, never a cached refusal.
 */
@ApplicationScoped
public class KubeAuth {

  static final Duration IDENTITY_TTL = Duration.ofMinutes(1);

  /** A caller seen after this is reviewed again in the background, so it never waits in line. */
  static final Duration REFRESH_AFTER = Duration.ofSeconds(40);

  /** A grant used after this is asked again in the background, before it expires. */
  static final Duration DECISION_REFRESH_AFTER = Duration.ofSeconds(20);

  static final Duration REFUSAL_TTL = Duration.ofSeconds(10);
  static final Duration ALLOWED_TTL = Duration.ofSeconds(30);
  private static final int MAX_ENTRIES = 10_000;
  private static final String BEARER = "Bearer ";

  /** A token's owner, or why the token was refused, and when the API server said so. */
  private record Identity(UserInfo user, String refusal, long reviewedAt) {}

  /** A SubjectAccessReview's answer, and when the API server gave it. */
  private record Decision(boolean allowed, long reviewedAt) {}

  /** One access question, as a SubjectAccessReview asks it. */
  private record Access(
      String user,
      List<String> groups,
      String uid,
      Map<String, List<String>> extra,
      String verb,
      String resource,
      String subresource,
      String namespace) {}

  private final KubernetesClient client;
  private final Ticker ticker;
  private final TokenBucket reviews;
  // Separate budgets: grants, which a caller with many tokens multiplies, never starve the
  // refreshes of identities (a known caller whose identity expires competes with new tokens).
  private final TokenBucket identityRefreshes;
  private final TokenBucket grantRefreshes;
  // Token hashes and access questions being reviewed again in the background, each once at a time.
  private final Set<Object> refreshing = ConcurrentHashMap.newKeySet();
  // Bounded, and short enough that a queued refresh runs well before its answer expires; beyond
  // it a refresh waits for a later request, or the entry's expiry.
  private final ExecutorService refresher =
      new ThreadPoolExecutor(
          2,
          2,
          0,
          TimeUnit.SECONDS,
          new ArrayBlockingQueue<>(100),
          r -> {
            var t = new Thread(r, "token-refresh");
            t.setDaemon(true);
            return t;
          });
  private final Cache<String, Identity> identities;
  private final Cache<Access, Decision> decisions;

  @Inject
  KubeAuth(
      KubernetesClient client,
      @ConfigProperty(name = "robusto.api.token-reviews-per-second") int reviewsPerSecond) {
    this(client, reviewsPerSecond, Ticker.systemTicker());
  }

  /** {@code ticker} is the clock of the caches and of the refreshes (nanoseconds). */
  KubeAuth(KubernetesClient client, int reviewsPerSecond, Ticker ticker) {
    this.client = client;
    this.ticker = ticker;
    this.identities =
        Caffeine.newBuilder()
            .ticker(ticker)
            .maximumSize(MAX_ENTRIES)
            .expireAfter(expiry((String k, Identity v) -> v.user() != null, IDENTITY_TTL))
            .build();
    this.decisions =
        Caffeine.newBuilder()
            .ticker(ticker)
            .maximumSize(MAX_ENTRIES)
            .expireAfter(expiry((Access k, Decision v) -> v.allowed(), ALLOWED_TTL))
            .build();
    this.reviews =
        reviewsPerSecond <= 0
            ? null
            : new TokenBucket(reviewsPerSecond, reviewsPerSecond, ticker.read());
    // Callers in use are re-reviewed at most this fast too: many tokens minted for one tenant
    // cannot turn refreshes into a flood of their own.
    var refreshRate = Math.max(reviewsPerSecond, 50);
    this.identityRefreshes = new TokenBucket(refreshRate, refreshRate, ticker.read());
    this.grantRefreshes = new TokenBucket(refreshRate, refreshRate, ticker.read());
  }

  /**
   * The caller's user if its token was reviewed lately, null if it must be; 401 if it was refused.
   * Never calls the API server, so it may run on the event loop.
   */
  public UserInfo cachedUser(String authorization) {
    if (authorization == null || !authorization.startsWith(BEARER)) {
      throw missingToken();
    }
    var key = Hashes.sha256Hex(authorization);
    var known = identities.getIfPresent(key);
    if (known == null) {
      return null;
    }
    if (known.refusal() != null) {
      throw refuse(401, known.refusal());
    }
    if (due(known.reviewedAt(), REFRESH_AFTER)) {
      refresh(identities, key, known, identityRefreshes, () -> review(authorization));
    }
    return known.user();
  }

  private boolean due(long reviewedAt, Duration after) {
    return ticker.read() - reviewedAt > after.toNanos();
  }

  /**
   * Asks the API server again, in the background, about {@code known}, an answer in use, outside
   * the budget for new tokens: a flood of those never makes a known caller wait. A revoked token or
   * a withdrawn grant is found here. The new answer replaces {@code known} only: a newer one (a
   * denial found meanwhile, a stream's recheck) is never overwritten by an older question's.
   */
  private <K, V> void refresh(
      Cache<K, V> cache, K key, V known, TokenBucket budget, Supplier<V> review) {
    if (!refreshing.add(key)) {
      return;
    }
    if (budget.take(ticker.read()) != 0) {
      refreshing.remove(key);
      return;
    }
    try {
      refresher.execute(
          () -> {
            try {
              if (cache.getIfPresent(key) == known) {
                cache.asMap().replace(key, known, review.get());
              }
            } catch (RuntimeException e) {
              // The API server did not answer: the current answer holds until it expires.
            } finally {
              refreshing.remove(key);
            }
          });
    } catch (RejectedExecutionException e) {
      refreshing.remove(key);
    }
  }

  /** Whether a background refresh is queued or running (for tests). */
  boolean refreshPending() {
    return !refreshing.isEmpty();
  }

  /** Who the bearer token belongs to; 401, or 429 when too many unknown tokens come at once. */
  public UserInfo authenticate(String authorization) {
    var cached = cachedUser(authorization);
    if (cached != null) {
      return cached;
    }
    var wait = reviews == null ? 0 : reviews.take(ticker.read());
    if (wait > 0) {
      throw tooMany("Too many new tokens to review right now; retry shortly.", wait);
    }
    var identity = identities.get(Hashes.sha256Hex(authorization), k -> review(authorization));
    if (identity.refusal() != null) {
      throw refuse(401, identity.refusal());
    }
    return identity.user();
  }

  /**
   * Asks the API server again, caches aside, whether the token is valid and may still {@code verb}
   * the {@code resource}: for a long-lived stream, so revocation ends it at the next check.
   */
  public void recheck(String authorization, String verb, String resource, String namespace) {
    if (authorization == null || !authorization.startsWith(BEARER)) {
      throw missingToken();
    }
    var identity = review(authorization);
    identities.put(Hashes.sha256Hex(authorization), identity);
    if (identity.refusal() != null) {
      throw refuse(401, identity.refusal());
    }
    var access = access(identity.user(), verb, resource, null, namespace);
    var decision = decide(access);
    decisions.put(access, decision);
    if (!decision.allowed()) {
      throw refuse(403, "Access to " + resource + " was withdrawn.");
    }
  }

  private static Access access(
      UserInfo user, String verb, String resource, String subresource, String namespace) {
    return new Access(
        user.getUsername(),
        user.getGroups(),
        user.getUid(),
        user.getExtra(),
        verb,
        resource,
        subresource,
        namespace);
  }

  /**
   * Throws 403 unless {@code user} may {@code verb} the robusto.dev {@code resource} ({@code
   * subresource} of it when not null) in {@code namespace} (cluster-wide when null).
   */
  public void allow(
      UserInfo user, String verb, String resource, String subresource, String namespace) {
    var access = access(user, verb, resource, subresource, namespace);
    var known = decisions.getIfPresent(access);
    if (known != null && known.allowed() && due(known.reviewedAt(), DECISION_REFRESH_AFTER)) {
      refresh(decisions, access, known, grantRefreshes, () -> decide(access));
    }
    var decision = known != null ? known : decisions.get(access, this::decide);
    if (!decision.allowed()) {
      throw refuse(
          403,
          "%s may not %s %s%s%s."
              .formatted(
                  user.getUsername(),
                  verb,
                  resource,
                  subresource == null ? "" : "/" + subresource,
                  namespace == null ? "" : " in namespace " + namespace));
    }
  }

  private Identity review(String authorization) {
    try {
      var review =
          client
              .authentication()
              .v1()
              .tokenReviews()
              .create(
                  new TokenReviewBuilder()
                      .withNewSpec()
                      .withToken(authorization.substring(BEARER.length()))
                      .endSpec()
                      .build());
      if (review.getStatus() == null
          || !Boolean.TRUE.equals(review.getStatus().getAuthenticated())) {
        return new Identity(null, "The bearer token is not valid in this cluster.", ticker.read());
      }
      return new Identity(review.getStatus().getUser(), null, ticker.read());
    } catch (KubernetesClientException e) {
      throw unavailable();
    }
  }

  private Decision decide(Access access) {
    try {
      var answer =
          client
              .authorization()
              .v1()
              .subjectAccessReview()
              .create(
                  new SubjectAccessReviewBuilder()
                      .withNewSpec()
                      .withUser(access.user())
                      .withGroups(access.groups())
                      .withUid(access.uid())
                      .withExtra(access.extra())
                      .withNewResourceAttributes()
                      .withGroup("robusto.dev")
                      .withResource(access.resource())
                      .withSubresource(access.subresource())
                      .withVerb(access.verb())
                      .withNamespace(access.namespace())
                      .endResourceAttributes()
                      .endSpec()
                      .build());
      return new Decision(
          answer.getStatus() != null && Boolean.TRUE.equals(answer.getStatus().getAllowed()),
          ticker.read());
    } catch (KubernetesClientException e) {
      throw unavailable();
    }
  }

  /** Entries live {@code ttl} when {@code good}, {@link #REFUSAL_TTL} otherwise. */
  static <K, V> Expiry<K, V> expiry(java.util.function.BiPredicate<K, V> good, Duration ttl) {
    return new Expiry<>() {
      @Override
      public long expireAfterCreate(K key, V value, long currentTime) {
        return (good.test(key, value) ? ttl : REFUSAL_TTL).toNanos();
      }

      @Override
      public long expireAfterUpdate(K key, V value, long currentTime, long currentDuration) {
        return expireAfterCreate(key, value, currentTime);
      }

      @Override
      public long expireAfterRead(K key, V value, long currentTime, long currentDuration) {
        return currentDuration;
      }
    };
  }

  private static WebApplicationException missingToken() {
    return refuse(401, "Send a Kubernetes bearer token: Authorization: Bearer <token>.");
  }

  private static WebApplicationException unavailable() {
    return refuse(503, "The Kubernetes API server cannot check your token right now; retry.");
  }

  public static WebApplicationException refuse(int status, String message) {
    return refuse(status, message, null);
  }

  /** The same, naming the request's field at fault (a query parameter, a header, a body field). */
  public static WebApplicationException refuse(int status, String message, String field) {
    return new WebApplicationException(
        Response.status(status)
            .type(Problem.MEDIA_TYPE)
            .entity(Problem.of(status, message, field))
            .build());
  }

  /** 429 with Retry-After: the whole seconds (at least 1) until {@code waitNanos} have passed. */
  static WebApplicationException tooMany(String message, long waitNanos) {
    var seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
    return new WebApplicationException(
        Response.status(429)
            .header("Retry-After", Long.toString(seconds))
            .type(Problem.MEDIA_TYPE)
            .entity(Problem.of(429, message, null))
            .build());
  }

  /**
   * An error body as RFC 9457 problem details: the status and its title, what went wrong and what
   * to do ({@code detail}; also {@code message}, which clients of the first release read), and the
   * request's field at fault when there is one.
   */
  @com.fasterxml.jackson.annotation.JsonInclude(
      com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  public record Problem(
      String type, String title, int status, String detail, String message, String field) {

    public static final String MEDIA_TYPE = "application/problem+json";

    static Problem of(int status, String detail, String field) {
      var known = Response.Status.fromStatusCode(status);
      var title =
          status == 422
              ? "Unprocessable Content"
              : known == null ? "Error" : known.getReasonPhrase();
      return new Problem("about:blank", title, status, detail, detail, field);
    }
  }
}
