package dev.robusto.api;

/**
 * A token bucket: {@code perSecond} requests a second on average, bursts up to {@code burst}.
 * {@link #take} never waits; it says how long until a token would be there.
 */
final class TokenBucket {

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final double perNano;
  private final double burst;
  private double tokens;
  private long refilledAt;

  TokenBucket(double perSecond, double burst, long now) {
    this.perNano = perSecond / NANOS_PER_SECOND;
    this.burst = burst;
    this.tokens = burst;
    this.refilledAt = now;
  }

  /** Takes a token at {@code now} (nanoTime): 0 when there was one, else the nanos to wait. */
  synchronized long take(long now) {
    tokens = Math.min(burst, tokens + (now - refilledAt) * perNano);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - tokens) / perNano);
  }
}
