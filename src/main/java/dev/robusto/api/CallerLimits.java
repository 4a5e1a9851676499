package dev.robusto.api;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Per caller limits on the HTTP APIs, so one caller (a Kubernetes user or ServiceAccount) cannot
 * wear them down for the others: a request rate per API (over it, 429 with Retry-After), and a cap
 * on progress streams open at once, per caller and in all.
 */
@ApplicationScoped
public class CallerLimits {

  /** The APIs, each with its own rate per caller. */
  public enum Api {
    OFREP,
    BATCHES,
    AUDIT,
    USAGE,
    TICKETS
  }

  private record Key(Api api, String caller) {}

  private final Cache<Key, TokenBucket> buckets =
      Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(Duration.ofMinutes(10)).build();
  private final ConcurrentHashMap<String, AtomicInteger> streamsByCaller =
      new ConcurrentHashMap<>();
  private final AtomicInteger streams = new AtomicInteger();
  private final int ofrepPerSecond;
  private final int batchesPerSecond;
  private final int auditPerSecond;
  private final int usagePerSecond;
  private final int ticketsPerSecond;
  private final int streamsPerCaller;
  private final int maxStreams;

  CallerLimits(
      @ConfigProperty(name = "robusto.api.ofrep-requests-per-second") int ofrepPerSecond,
      @ConfigProperty(name = "robusto.api.batch-requests-per-second") int batchesPerSecond,
      @ConfigProperty(name = "robusto.api.audit-requests-per-second") int auditPerSecond,
      @ConfigProperty(name = "robusto.api.usage-requests-per-second") int usagePerSecond,
      @ConfigProperty(name = "robusto.api.ticket-requests-per-second") int ticketsPerSecond,
      @ConfigProperty(name = "robusto.api.streams-per-caller") int streamsPerCaller,
      @ConfigProperty(name = "robusto.api.streams") int maxStreams) {
    this.ofrepPerSecond = ofrepPerSecond;
    this.batchesPerSecond = batchesPerSecond;
    this.auditPerSecond = auditPerSecond;
    this.usagePerSecond = usagePerSecond;
    this.ticketsPerSecond = ticketsPerSecond;
    this.streamsPerCaller = streamsPerCaller;
    this.maxStreams = maxStreams;
  }

  /** Throws 429 with Retry-After when {@code caller} is over its rate for {@code api}. */
  public void admit(Api api, String caller) {
    var perSecond =
        switch (api) {
          case OFREP -> ofrepPerSecond;
          case BATCHES -> batchesPerSecond;
          case AUDIT -> auditPerSecond;
          case USAGE -> usagePerSecond;
          case TICKETS -> ticketsPerSecond;
        };
    if (perSecond <= 0) {
      return;
    }
    var now = System.nanoTime();
    var bucket =
        buckets.get(new Key(api, caller), k -> new TokenBucket(perSecond, 2.0 * perSecond, now));
    var wait = bucket.take(now);
    if (wait > 0) {
      throw KubeAuth.tooMany(
          "%s is over its %d requests a second here; retry later.".formatted(caller, perSecond),
          wait);
    }
  }

  /**
   * Counts a stream {@code caller} opens, or throws 429 when it has {@code streams-per-caller} open
   * or the operator has {@code streams}; {@link #closeStream} when it ends.
   */
  public void openStream(String caller) {
    // Counters stay in the map (one per caller that ever streamed): removing them races.
    var mine = streamsByCaller.computeIfAbsent(caller, c -> new AtomicInteger());
    if (mine.incrementAndGet() > streamsPerCaller) {
      mine.decrementAndGet();
      throw KubeAuth.tooMany(
          "%s has %d progress streams open, the most one caller may; close one."
              .formatted(caller, streamsPerCaller),
          Duration.ofSeconds(5).toNanos());
    }
    if (streams.incrementAndGet() > maxStreams) {
      streams.decrementAndGet();
      mine.decrementAndGet();
      throw KubeAuth.tooMany(
          "The operator serves %d progress streams, its most; retry later.".formatted(maxStreams),
          Duration.ofSeconds(5).toNanos());
    }
  }

  public void closeStream(String caller) {
    streams.decrementAndGet();
    streamsByCaller.get(caller).decrementAndGet();
  }
}
