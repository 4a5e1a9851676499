package dev.robusto.merchant;

import dev.robusto.operator.Durations;
import dev.robusto.worker.HttpProcessor;
import dev.robusto.worker.WorkerConfig;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How a worker reaches a Merchant's portal: the settings it is told ({@link WorkerConfig.Merchant})
 * and the Secret volume its credentials come from. The operator never reads that Secret: the
 * kubelet mounts it in the tenant's own pods, and refreshes it when the tenant rotates a key.
 */
public final class MerchantRoute {

  /** The volume's name in a worker pod. */
  public static final String VOLUME = "merchant-credentials";

  private MerchantRoute() {}

  /** The portal's URLs in the order workers try them. */
  public static List<String> urls(MerchantSpec spec) {
    var urls = new ArrayList<String>();
    urls.add(spec.url);
    if (spec.alternativeUrls != null) {
      urls.addAll(spec.alternativeUrls);
    }
    return urls;
  }

  /** The circuits the workers report for the portal's URLs (host:port). */
  static List<String> circuitNames(MerchantSpec spec) {
    return urls(spec).stream()
        .map(u -> HttpProcessor.circuitName(URI.create(u)))
        .distinct()
        .toList();
  }

  /** What a worker is told of the merchant. */
  public static WorkerConfig.Merchant of(Merchant merchant) {
    var spec = merchant.getSpec();
    var credentials = spec.credentials;
    return new WorkerConfig.Merchant(
        merchant.getMetadata().getName(),
        urls(spec),
        Boolean.TRUE.equals(spec.captchaSolving),
        spec.circuitBreaker.failures,
        Durations.parse(spec.circuitBreaker.openFor).toMillis(),
        credentials == null ? null : credentials.header,
        credentials == null ? null : credentials.scheme);
  }

  /** How long one call may take. */
  public static Duration requestTimeout(Merchant merchant) {
    return Durations.parse(merchant.getSpec().requestTimeout);
  }

  /**
   * Each of {@code workers} workers' share of the portal's calls a minute, within {@code
   * tenantShare} (the tenant's own limit, shared the same way).
   */
  public static int requestsPerMinute(Merchant merchant, int workers, int tenantShare) {
    var limit = merchant.getSpec().rateLimit.requestsPerMinute;
    if (limit == null || limit == 0) {
      return tenantShare;
    }
    var share = Math.max(1, limit / Math.max(1, workers));
    return tenantShare == 0 ? share : Math.min(share, tenantShare);
  }

  /**
   * The credentials' Secret as a volume: only its primary and fallback keys, optional so a missing
   * Secret or key shows in the Merchant's status (the workers report it) instead of pods that never
   * start.
   */
  public static Optional<Volume> volume(Merchant merchant) {
    var credentials = merchant.getSpec().credentials;
    if (credentials == null) {
      return Optional.empty();
    }
    return Optional.of(
        new VolumeBuilder()
            .withName(VOLUME)
            .withNewSecret()
            .withSecretName(credentials.secretName)
            .withOptional(true)
            .addNewItem()
            .withKey("primary")
            .withPath("primary")
            .endItem()
            .addNewItem()
            .withKey("fallback")
            .withPath("fallback")
            .endItem()
            .endSecret()
            .build());
  }

  /** Where the worker finds the credentials. */
  public static VolumeMount mount() {
    return new VolumeMountBuilder()
        .withName(VOLUME)
        .withMountPath(WorkerConfig.MERCHANT_CREDENTIALS.toString())
        .withReadOnly(true)
        .build();
  }
}
