package dev.robusto.flag;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every FeatureFlag, from a watch kept in memory, for evaluation on the request path (OFREP): an
 * answer never waits for the API server. {@link #revision()} moves on every change the watch sees,
 * so answers computed from the catalog can be cached until it moves.
 */
@ApplicationScoped
public class FlagCatalog {

  private final KubernetesClient client;
  private final AtomicLong revision = new AtomicLong();
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

  /**
   * Moves after every add, update or delete, once the catalog already shows it (the informer
   * updates its store before it notifies).
   */
  public long revision() {
    informer();
    return revision.get();
  }

  private SharedIndexInformer<FeatureFlag> informer() {
    var current = informer;
    if (current == null) {
      synchronized (this) {
        if (informer == null) {
          informer =
              client
                  .resources(FeatureFlag.class)
                  .inform(
                      new ResourceEventHandler<>() {
                        @Override
                        public void onAdd(FeatureFlag flag) {
                          revision.incrementAndGet();
                        }

                        @Override
                        public void onUpdate(FeatureFlag before, FeatureFlag after) {
                          revision.incrementAndGet();
                        }

                        @Override
                        public void onDelete(FeatureFlag flag, boolean finalStateUnknown) {
                          revision.incrementAndGet();
                        }
                      });
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
