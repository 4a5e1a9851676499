package dev.robusto.worker;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.robusto.queue.WorkQueue;
import java.net.URI;
import java.nio.file.Path;
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
 * @param fleet set for a worker of an AutomationDeployment's fleet (then batchId is null): it
 *     serves every batch handed to the deployment, never exits on its own, and records each attempt
 *     with its revision
 * @param merchant set when the http processor calls a Merchant's portal (then url is null)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkerConfig(
    UUID batchId,
    String processor,
    String url,
    List<String> command,
    Simulated simulated,
    long itemTimeoutMillis,
    long backoffInitialMillis,
    long backoffMaxMillis,
    double backoffMultiplier,
    int requestsPerMinute,
    int claimSize,
    long leaseMillis,
    Fleet fleet,
    Merchant merchant) {

  /** Where a Merchant's Secret (keys primary and fallback) is mounted in a worker pod. */
  public static final Path MERCHANT_CREDENTIALS = MerchantCredentials.MOUNT;

  /**
   * Which fleet, and which revision of it, this worker belongs to; its tenant is the one its
   * database role belongs to.
   */
  public record Fleet(String deployment, int revision) {}

  /**
   * A Merchant's portal, as its resource says: URLs in the order they are tried, whether it asks
   * for captchas, its circuit breakers' settings and how a credential is sent (no header: it takes
   * none). The credentials themselves are files of the Secret's volume, never in the config.
   */
  public record Merchant(
      String name,
      List<String> urls,
      boolean captchaSolving,
      int circuitFailures,
      long circuitOpenMillis,
      String credentialHeader,
      String credentialScheme) {}

  /** The simulated processor's draw. */
  public record Simulated(
      SimulatedProcessor.Distribution distribution,
      long meanLatencyMillis,
      double failureRate,
      double permanentFailureRate,
      long seed) {}

  /** The backoff between attempts; how many there may be is the batch's (max_attempts). */
  public WorkQueue.Retry retry() {
    return new WorkQueue.Retry(
        Duration.ofMillis(backoffInitialMillis),
        Duration.ofMillis(backoffMaxMillis),
        backoffMultiplier);
  }

  public ItemProcessor newProcessor() {
    var timeout = Duration.ofMillis(itemTimeoutMillis);
    return switch (processor) {
      case "http" ->
          merchant == null
              ? new HttpProcessor(URI.create(url), timeout, Clock.systemUTC())
              : new HttpProcessor(portal(), timeout, Clock.systemUTC());
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

  private HttpProcessor.Portal portal() {
    return new HttpProcessor.Portal(
        merchant.name(),
        merchant.urls().stream().map(URI::create).toList(),
        merchant.captchaSolving(),
        merchant.circuitFailures(),
        Duration.ofMillis(merchant.circuitOpenMillis()),
        merchant.credentialHeader(),
        merchant.credentialScheme(),
        merchant.credentialHeader() == null
            ? null
            : new MerchantCredentials(mounted(MerchantCredentials.MOUNT), System::nanoTime));
  }

  /**
   * A path of the pod's volumes. A local node runs pods without their own mount namespace and puts
   * each pod's volumes under ROBUSTO_LOCAL_ROOT; in a real pod it is unset.
   */
  static Path mounted(Path path) {
    var root = System.getenv("ROBUSTO_LOCAL_ROOT");
    return root == null || root.isBlank() ? path : Path.of(root, path.toString());
  }
}
