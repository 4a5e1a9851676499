package dev.robusto.deployment;

import dev.robusto.batch.BatchSettings;
import dev.robusto.store.BatchStore;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A fleet's Deployments, one per revision that runs ({@link FleetDeployment}): which are ready, as
 * the informer last saw them, and their sizes. Weight moves between revisions by replica count
 * alone; a revision no longer wanted goes to zero first and is deleted once its pods are gone.
 */
final class FleetReplicas {

  private final AutomationDeployment fleet;
  private final KubernetesClient client;
  private final Supplier<? extends Collection<Deployment>> cached;
  private final List<ControllerRevision> revisions;
  private final BatchStore.TenantLimits tenant;
  private final BatchSettings settings;

  FleetReplicas(
      AutomationDeployment fleet,
      KubernetesClient client,
      Supplier<? extends Collection<Deployment>> cached,
      List<ControllerRevision> revisions,
      BatchStore.TenantLimits tenant,
      BatchSettings settings) {
    this.fleet = fleet;
    this.client = client;
    this.cached = cached;
    this.revisions = revisions;
    this.tenant = tenant;
    this.settings = settings;
  }

  Optional<Deployment> of(int revision) {
    return cached.get().stream().filter(d -> revisionOf(d) == revision).findFirst();
  }

  /** The revision's Deployment runs exactly {@code replicas}, all ready (none: none wanted). */
  boolean ready(Integer revision, int replicas) {
    if (revision == null) {
      return true;
    }
    var deployment = of(revision);
    if (deployment.isEmpty()) {
      return replicas == 0;
    }
    return live(deployment.get()) == replicas
        && readyReplicas(revision) >= replicas
        && Objects.equals(deployment.get().getSpec().getReplicas(), replicas);
  }

  int readyReplicas(int revision) {
    return of(revision)
        .map(
            d ->
                d.getStatus() == null || d.getStatus().getReadyReplicas() == null
                    ? 0
                    : d.getStatus().getReadyReplicas())
        .orElse(0);
  }

  /** Pods of the revision's Deployment not being deleted (0 without one). */
  int live(int revision) {
    return of(revision).map(FleetReplicas::live).orElse(0);
  }

  /**
   * Gives each wanted revision its replicas (creating its Deployment if it has none) and scales
   * every other revision down, deleting its Deployment once empty. Returns the Deployments created.
   */
  List<Deployment> apply(Map<Integer, Integer> wanted) {
    var created = new ArrayList<Deployment>();
    wanted.forEach(
        (revision, replicas) -> {
          var current = of(revision);
          if (current.isEmpty()) {
            create(revision, replicas).ifPresent(created::add);
          } else if (!Objects.equals(current.get().getSpec().getReplicas(), replicas)) {
            scale(current.get(), replicas);
          }
        });
    for (var deployment : cached.get()) {
      if (wanted.containsKey(revisionOf(deployment))) {
        continue;
      }
      if (deployment.getSpec().getReplicas() != 0) {
        scale(deployment, 0);
      } else if (live(deployment) == 0) {
        client.resource(deployment).delete();
      }
    }
    return created;
  }

  /**
   * Creates the revision's Deployment; empty when it exists already because the previous reconcile
   * made it and the informer has not shown it yet (its event brings another reconcile). One of that
   * name that is not this fleet's is never taken over.
   */
  private Optional<Deployment> create(int revision, int replicas) {
    var desired = desired(revision, replicas);
    try {
      return Optional.of(client.resource(desired).create());
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
      var existing = client.resource(desired).get();
      if (existing != null && !ownedByFleet(existing)) {
        throw new IllegalStateException(
            "Deployment %s already exists and is not this fleet's: rename or delete it, so that revision %d can run."
                .formatted(desired.getMetadata().getName(), revision));
      }
      return Optional.empty();
    }
  }

  private boolean ownedByFleet(Deployment deployment) {
    return deployment.getMetadata().getOwnerReferences().stream()
        .anyMatch(o -> fleet.getMetadata().getUid().equals(o.getUid()));
  }

  private Deployment desired(int revision, int replicas) {
    var kept =
        FleetRevisions.number(revisions, revision)
            .orElseThrow(
                () -> new IllegalStateException("Revision " + revision + " is no longer kept"));
    return FleetDeployment.desired(
        fleet, revision, FleetRevisions.content(kept), replicas, tenant, settings);
  }

  private void scale(Deployment deployment, int replicas) {
    client
        .apps()
        .deployments()
        .inNamespace(deployment.getMetadata().getNamespace())
        .withName(deployment.getMetadata().getName())
        .patch(
            PatchContext.of(PatchType.JSON_MERGE), "{\"spec\": {\"replicas\": " + replicas + "}}");
  }

  private static int live(Deployment deployment) {
    var status = deployment.getStatus();
    return status == null || status.getReplicas() == null ? 0 : status.getReplicas();
  }

  private static int revisionOf(Deployment deployment) {
    return Integer.parseInt(
        deployment.getMetadata().getLabels().get(AutomationDeployment.REVISION_LABEL));
  }
}
