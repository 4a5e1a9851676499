package dev.robusto.worker;

import java.util.SplittableRandom;

/**
 * The {@code simulated} processor, for drills and benchmarks: waits a latency drawn from a
 * distribution and fails at the given rates. Every draw is a function of the seed, the item's key
 * and the attempt, so a drill replays identically whichever worker picks which item.
 */
public final class SimulatedProcessor implements ItemProcessor {

  /** How latencies spread around the mean. */
  public enum Distribution {
    FIXED,
    UNIFORM,
    EXPONENTIAL
  }

  private final Distribution distribution;
  private final long meanLatencyMillis;
  private final double failureRate;
  private final double permanentFailureRate;
  private final long seed;

  public SimulatedProcessor(
      Distribution distribution,
      long meanLatencyMillis,
      double failureRate,
      double permanentFailureRate,
      long seed) {
    this.distribution = distribution;
    this.meanLatencyMillis = meanLatencyMillis;
    this.failureRate = failureRate;
    this.permanentFailureRate = permanentFailureRate;
    this.seed = seed;
  }

  @Override
  public Result process(String key, String payloadJson, int attempt) {
    var random = new SplittableRandom(seed ^ ((long) key.hashCode() << 16) ^ attempt);
    var latency = latencyMillis(random);
    if (latency > 0) {
      try {
        Thread.sleep(latency);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Result(Verdict.RETRY, "interrupted");
      }
    }
    var roll = random.nextDouble();
    if (roll < permanentFailureRate) {
      return new Result(Verdict.PERMANENT_FAILURE, "simulated permanent failure");
    }
    if (roll < permanentFailureRate + failureRate) {
      return new Result(Verdict.RETRY, "simulated failure (attempt " + attempt + ")");
    }
    return Result.SUCCESS;
  }

  private long latencyMillis(SplittableRandom random) {
    return switch (distribution) {
      case FIXED -> meanLatencyMillis;
      case UNIFORM -> meanLatencyMillis == 0 ? 0 : random.nextLong(2 * meanLatencyMillis + 1);
      case EXPONENTIAL -> Math.round(-meanLatencyMillis * Math.log(1 - random.nextDouble()));
    };
  }
}
