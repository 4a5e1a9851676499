package dev.robusto.worker;

/**
 * Spaces calls evenly to at most {@code perMinute} a minute (0: unlimited). Each worker holds an
 * equal share of its tenant's requestsPerMinute, so together they stay under it.
 */
final class RateLimiter {

  private final long intervalNanos;
  private long nextSlot = System.nanoTime();

  RateLimiter(int perMinute) {
    this.intervalNanos = perMinute <= 0 ? 0 : 60_000_000_000L / perMinute;
  }

  /** Waits for the next slot. */
  void acquire() throws InterruptedException {
    if (intervalNanos == 0) {
      return;
    }
    var now = System.nanoTime();
    var wait = nextSlot - now;
    nextSlot = Math.max(now, nextSlot) + intervalNanos;
    if (wait > 0) {
      Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
    }
  }
}
