package dev.robusto.worker;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.robusto.store.WorkQueue;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * What a worker is told to do, as the operator puts it in the Job (ROBUSTO_WORKER_CONFIG, JSON).
 * The database connection comes apart, from the tenant's Secret. Durations are in milliseconds.
 *
 * @param processor {@code http}, {@code command} or {@code simulated}
 * @param requestsPerMinute this worker's share of the tenant's limit; 0 is unlimited
 * @param claimSize items claimed at once (1 for anything slow: a claimed item waits under lease)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkerConfig(
    UUID batchId,
    String processor,
    String url,
    List<String> command,
    Simulated simulated,
    long itemTimeoutMillis,
    int maxAttempts,
    long backoffInitialMillis,
    long backoffMaxMillis,
    double backoffMultiplier,
    int requestsPerMinute,
    int claimSize,
    long leaseMillis) {

  /** The simulated processor's draw. */
  public record Simulated(
      SimulatedProcessor.Distribution distribution,
      long meanLatencyMillis,
      double failureRate,
      double permanentFailureRate,
      long seed) {}

  public WorkQueue.Retry retry() {
    return new WorkQueue.Retry(
        maxAttempts,
        Duration.ofMillis(backoffInitialMillis),
        Duration.ofMillis(backoffMaxMillis),
        backoffMultiplier);
  }

  public ItemProcessor newProcessor() {
    var timeout = Duration.ofMillis(itemTimeoutMillis);
    return switch (processor) {
      case "http" -> new HttpProcessor(URI.create(url), timeout, Clock.systemUTC());
      case "command" -> new CommandProcessor(command, timeout);
      case "simulated" ->
          new SimulatedProcessor(
              simulated.distribution(),
              simulated.meanLatencyMillis(),
              simulated.failureRate(),
              simulated.permanentFailureRate(),
              simulated.seed());
      default -> throw new IllegalArgumentException("unknown processor " + processor);
    };
  }
}
