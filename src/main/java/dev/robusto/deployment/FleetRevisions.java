package dev.robusto.deployment;

import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.operator.Hashes;
import dev.robusto.operator.Owners;
import dev.robusto.tenant.Tenant;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.apps.ControllerRevisionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A fleet's revisions, one ControllerRevision each (as StatefulSets keep theirs): what the pods run
 * (template, processor, timeout, backoff), numbered in order of first appearance. The number names
 * the revision's Deployment and its attempts in PostgreSQL, and a person can roll back to any
 * revision kept.
 */
final class FleetRevisions {

  static final String HASH_ANNOTATION = "robusto.dev/revision-hash";

  /** Canonical JSON: the same content always hashes the same. */
  private static final ObjectMapper CANONICAL =
      JsonMapper.builder()
          .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  /** What makes a revision. */
  static class Content {
    public PodTemplateSpec template;
    public AutomationBatchSpec.Processor processor;
    public String itemTimeout;
    public AutomationBatchSpec.Backoff backoff;

    static Content of(AutomationDeploymentSpec spec) {
      var content = new Content();
      content.template = spec.template;
      content.processor = spec.processor;
      content.itemTimeout = spec.itemTimeout;
      content.backoff = spec.backoff;
      return content;
    }

    String hash() {
      return canonicalHash(this);
    }

    String image() {
      var containers = template.getSpec() == null ? null : template.getSpec().getContainers();
      return containers == null || containers.isEmpty() ? null : containers.get(0).getImage();
    }
  }

  private FleetRevisions() {}

  /** A short hash of a value's canonical JSON. */
  static String canonicalHash(Object value) {
    try {
      return Hashes.sha256Hex(CANONICAL.writeValueAsString(value)).substring(0, 16);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The revision with this content among those kept, if any. */
  static Optional<ControllerRevision> find(Collection<ControllerRevision> kept, String hash) {
    return kept.stream()
        .filter(r -> hash.equals(r.getMetadata().getAnnotations().get(HASH_ANNOTATION)))
        .findFirst();
  }

  static Optional<ControllerRevision> number(Collection<ControllerRevision> kept, int revision) {
    return kept.stream().filter(r -> r.getRevision() == revision).findFirst();
  }

  static Content content(ControllerRevision revision) {
    return CANONICAL.convertValue(revision.getData(), Content.class);
  }

  /** A revision, and whether this call created it (else an earlier reconcile did). */
  record Recorded(ControllerRevision revision, boolean created) {}

  /**
   * Creates the next revision. Numbers continue from the highest ever recorded (status history
   * too), so a number is never reused for other content after old revisions are pruned.
   */
  static Recorded create(
      KubernetesClient client,
      AutomationDeployment fleet,
      Collection<ControllerRevision> kept,
      int highestRecorded,
      Content content) {
    var next =
        Math.max(
                highestRecorded,
                kept.stream().mapToLong(ControllerRevision::getRevision).max().orElse(0))
            + 1;
    var name = fleet.getMetadata().getName();
    var hash = content.hash();
    var revision =
        new ControllerRevisionBuilder()
            .withNewMetadata()
            .withName(truncate(name) + "-" + hash.substring(0, 10))
            .withNamespace(fleet.getMetadata().getNamespace())
            .withLabels(
                Map.of(
                    Tenant.MANAGED_BY_LABEL,
                    Tenant.MANAGED_BY,
                    AutomationDeployment.NAME_LABEL,
                    name,
                    AutomationDeployment.REVISION_LABEL,
                    Long.toString(next)))
            .withAnnotations(Map.of(HASH_ANNOTATION, hash))
            .withOwnerReferences(Owners.controller(fleet))
            .endMetadata()
            .withRevision(next)
            .withData(CANONICAL.convertValue(content, Object.class))
            .build();
    try {
      return new Recorded(client.resource(revision).create(), true);
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
      // The name is the content's hash: the previous reconcile recorded it and the informer has
      // not shown it yet, unless someone else's object has the name.
      var existing = client.resource(revision).get();
      if (existing == null
          || existing.getMetadata().getOwnerReferences().stream()
              .noneMatch(o -> fleet.getMetadata().getUid().equals(o.getUid()))) {
        throw new IllegalStateException(
            "ControllerRevision %s already exists and is not this fleet's: delete it."
                .formatted(revision.getMetadata().getName()),
            e);
      }
      return new Recorded(existing, false);
    }
  }

  /** Deletes the oldest revisions beyond the limit, never one in use. */
  static void prune(
      KubernetesClient client,
      Collection<ControllerRevision> kept,
      int limit,
      List<Integer> inUse) {
    var removable =
        kept.stream()
            .filter(r -> !inUse.contains((int) (long) r.getRevision()))
            .sorted(Comparator.comparingLong(ControllerRevision::getRevision))
            .toList();
    var excess = kept.size() - limit;
    for (var i = 0; i < Math.min(excess, removable.size()); i++) {
      client.resource(removable.get(i)).delete();
    }
  }

  /** Leaves room for the hash suffix within Kubernetes' 253 (and the Deployment's 63 below). */
  static String truncate(String name) {
    return name.length() <= 40 ? name : name.substring(0, 40);
  }
}
