package dev.robusto.deployment;

import dev.robusto.batch.BatchSettings;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.SSABasedGenericKubernetesResourceMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A fleet's Deployments, one per revision that runs ({@link FleetDeployment}): which are ready, as
 * the informer last saw them, and their sizes. Weight moves between revisions by replica count
 * alone; a revision no longer wanted goes to zero first and is deleted once its pods are gone.
 * Deployments are written by server-side apply, so a hand edit of what the fleet sets (image,
 * environment, ...) is seen as drift and put back, and a template this operator now makes
 * differently (after an upgrade) is rolled out to the revision's pods.
 */
final class FleetReplicas {

  /** A Deployment this call wrote, and why (a change of size alone is not reported). */
  record Written(Deployment deployment, Change change) {}

  enum Change {
    CREATED,
    /** Edited by hand: what the fleet sets is put back. */
    REPAIRED,
    /** This operator makes the pod template differently (its version or settings changed). */
    UPDATED
  }

  private final AutomationDeployment fleet;
  private final Context<AutomationDeployment> context;
  private final KubernetesClient client;
  private final List<ControllerRevision> revisions;
  private final TenantDirectory.Entry tenant;
  private final BatchSettings settings;

  FleetReplicas(
      AutomationDeployment fleet,
      Context<AutomationDeployment> context,
      List<ControllerRevision> revisions,
      TenantDirectory.Entry tenant,
      BatchSettings settings) {
    this.fleet = fleet;
    this.context = context;
    this.client = context.getClient();
    this.revisions = revisions;
    this.tenant = tenant;
    this.settings = settings;
  }

  private Optional<Deployment> of(int revision) {
    return cached().stream().filter(d -> revisionOf(d) == revision).findFirst();
  }

  private Set<Deployment> cached() {
    return context.getSecondaryResources(Deployment.class);
  }

  /** Every revision's pods, as the informer last saw them. */
  RevisionPods pods() {
    var pods = new HashMap<Integer, RevisionPods.Pods>();
    for (var deployment : cached()) {
      var status = deployment.getStatus();
      var ready =
          status == null || status.getReadyReplicas() == null ? 0 : status.getReadyReplicas();
      pods.put(
          revisionOf(deployment),
          new RevisionPods.Pods(replicasOf(deployment), live(deployment), ready));
    }
    return new RevisionPods(pods);
  }

  /**
   * Gives each wanted revision its replicas (creating its Deployment if it has none, putting back
   * what was edited by hand) and scales every other revision down, deleting its Deployment once
   * empty. Returns what it created or put back; a change of size alone is not reported.
   */
  List<Written> apply(Map<Integer, Integer> wanted) {
    var written = new ArrayList<Written>();
    wanted.forEach(
        (revision, replicas) -> {
          var current = of(revision);
          if (current.isEmpty()) {
            create(revision, replicas).ifPresent(d -> written.add(new Written(d, Change.CREATED)));
            return;
          }
          var desired = desired(revision, replicas);
          if (matches(current.get(), desired)) {
            return;
          }
          var drifted = !matches(current.get(), desired(revision, replicasOf(current.get())));
          var applied = serverSideApply(desired);
          if (drifted) {
            written.add(
                new Written(
                    applied, madeAsNow(current.get(), desired) ? Change.REPAIRED : Change.UPDATED));
          }
        });
    for (var deployment : cached()) {
      var revision = revisionOf(deployment);
      if (wanted.containsKey(revision)) {
        continue;
      }
      if (replicasOf(deployment) != 0) {
        scaleDown(deployment, revision);
      } else if (live(deployment) == 0) {
        client.resource(deployment).delete();
      }
    }
    return written;
  }

  /**
   * Creates the revision's Deployment; empty when it exists already because the previous reconcile
   * made it and the informer has not shown it yet (its event brings another reconcile). One of that
   * name that is not this fleet's is never taken over: it is looked up first, since the informer
   * sees only the fleet's own.
   */
  private Optional<Deployment> create(int revision, int replicas) {
    var desired = desired(revision, replicas);
    var existing = client.resource(desired).get();
    if (existing == null) {
      return Optional.of(serverSideApply(desired));
    }
    if (!ownedByFleet(existing)) {
      throw new IllegalStateException(
          "Deployment %s already exists and is not this fleet's: rename or delete it, so that revision %d can run."
              .formatted(desired.getMetadata().getName(), revision));
    }
    return Optional.empty();
  }

  /** What the fleet sets is what the Deployment has (fields others set, defaults, are not its). */
  private boolean matches(Deployment actual, Deployment desired) {
    return SSABasedGenericKubernetesResourceMatcher.<Deployment>getInstance()
        .matches(actual, desired, context);
  }

  private Deployment serverSideApply(Deployment desired) {
    return client
        .resource(desired)
        .patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager(context.getControllerConfiguration().fieldManager())
                .withForce(true)
                .build());
  }

  /** To zero replicas, by apply while its revision is kept, so the fleet keeps owning its size. */
  private void scaleDown(Deployment deployment, int revision) {
    if (FleetRevisions.number(revisions, revision).isPresent()) {
      serverSideApply(desired(revision, 0));
      return;
    }
    client
        .apps()
        .deployments()
        .inNamespace(deployment.getMetadata().getNamespace())
        .withName(deployment.getMetadata().getName())
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\": {\"replicas\": 0}}");
  }

  /** Whether the Deployment's template was made as this operator makes it now. */
  private static boolean madeAsNow(Deployment actual, Deployment desired) {
    var key = FleetDeployment.TEMPLATE_HASH_ANNOTATION;
    var annotations = actual.getMetadata().getAnnotations();
    return annotations != null
        && desired.getMetadata().getAnnotations().get(key).equals(annotations.get(key));
  }

  private static int replicasOf(Deployment deployment) {
    var replicas = deployment.getSpec().getReplicas();
    return replicas == null ? 1 : replicas;
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

  private static int live(Deployment deployment) {
    var status = deployment.getStatus();
    return status == null || status.getReplicas() == null ? 0 : status.getReplicas();
  }

  private static int revisionOf(Deployment deployment) {
    return Integer.parseInt(
        deployment.getMetadata().getLabels().get(AutomationDeployment.REVISION_LABEL));
  }
}
