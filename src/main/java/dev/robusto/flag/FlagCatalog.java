package dev.robusto.flag;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Every FeatureFlag, from a watch kept in memory, for evaluation on the request path (OFREP): an
 * answer never waits for the API server.
 */
@ApplicationScoped
public class FlagCatalog {

  private final KubernetesClient client;
  private volatile SharedIndexInformer<FeatureFlag> informer;

  FlagCatalog(KubernetesClient client) {
    this.client = client;
  }

  public Optional<FeatureFlag> flag(String key) {
    return Optional.ofNullable(informer().getStore().getByKey(key));
  }

  /** All flags, by key. */
  public List<FeatureFlag> all() {
    return informer().getStore().list().stream()
        .sorted(Comparator.comparing(f -> f.getMetadata().getName()))
        .toList();
  }

  private SharedIndexInformer<FeatureFlag> informer() {
    var current = informer;
    if (current == null) {
      synchronized (this) {
        if (informer == null) {
          informer = client.resources(FeatureFlag.class).inform();
        }
        current = informer;
      }
    }
    return current;
  }

  @PreDestroy
  void stop() {
    if (informer != null) {
      informer.close();
    }
  }
}
