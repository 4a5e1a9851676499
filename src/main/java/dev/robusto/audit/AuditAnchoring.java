package dev.robusto.audit;

import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.Leadership;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Copies the audit chain's last position (seq and hash) out of the database at an interval, and as
 * soon as the chain has grown {@code robusto.audit.anchor-rows} past it, into a ConfigMap and an
 * Event in the operator's namespace. Whoever rewrites or cuts the chain in PostgreSQL, a superuser
 * included, cannot change that copy, and {@link AuditVerifier} checks the chain against it. Before
 * moving the anchor forward, the old one is checked: if the chain no longer holds it, a Warning
 * Event says so and the old anchor stays, as evidence.
 *
 * <p>That anchor is one ConfigMap the operator rewrites, so whoever holds the operator's
 * ServiceAccount could move it too. Every {@code robusto.audit.checkpoint-interval} the leader also
 * writes a checkpoint: an immutable ConfigMap per row ({@code robusto-audit-checkpoint-<seq>}) that
 * the chart's ValidatingAdmissionPolicy lets no one update or delete, the operator included.
 * Verification checks the chain against every one of them.
 */
@ApplicationScoped
public class AuditAnchoring {

  public static final String CONFIG_MAP = "robusto-audit-anchor";
  public static final String CHECKPOINT_PREFIX = "robusto-audit-checkpoint-";
  public static final String CHECKPOINT_LABEL = "robusto.dev/audit-checkpoint";
  private static final Logger LOG = Logger.getLogger(AuditAnchoring.class);

  private final AuditStore store;
  private final KubernetesClient client;
  private final Leadership leadership;
  private final String namespace;
  private final long anchorRows;
  // The anchor this replica last wrote or read (-1: not read yet), so checking for N new rows
  // costs one query on the chain's primary key, not a read of the ConfigMap.
  private final java.util.concurrent.atomic.AtomicLong anchoredSeq =
      new java.util.concurrent.atomic.AtomicLong(-1);

  AuditAnchoring(
      AuditStore store,
      KubernetesClient client,
      Leadership leadership,
      @ConfigProperty(name = "robusto.operator.namespace") String namespace,
      @ConfigProperty(name = "robusto.audit.anchor-rows") long anchorRows) {
    this.store = store;
    this.client = client;
    this.leadership = leadership;
    this.namespace = namespace;
    this.anchorRows = anchorRows;
  }

  /** When the anchor was last moved, if it ever was. */
  public Optional<Instant> anchoredAt() {
    var map = client.configMaps().inNamespace(namespace).withName(CONFIG_MAP).get();
    if (map == null || map.getData() == null || !map.getData().containsKey("anchoredAt")) {
      return Optional.empty();
    }
    return Optional.of(Instant.parse(map.getData().get("anchoredAt")));
  }

  /** The anchor last copied out of the database, if any. */
  public Optional<AuditAnchor> current() {
    var map = client.configMaps().inNamespace(namespace).withName(CONFIG_MAP).get();
    if (map == null || map.getData() == null || !map.getData().containsKey("seq")) {
      return Optional.empty();
    }
    return Optional.of(
        new AuditAnchor(Long.parseLong(map.getData().get("seq")), map.getData().get("hash")));
  }

  @Scheduled(
      every = "${robusto.audit.anchor-interval}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void scheduled() {
    if (!leadership.leads()) {
      return; // one anchor writer: the replica that leads
    }
    try {
      anchor();
    } catch (RuntimeException | SQLException e) {
      LOG.warnf("Could not anchor the audit chain: %s", e.getMessage());
    }
  }

  @Scheduled(
      every = "${robusto.audit.anchor-check}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void checkRows() {
    if (!leadership.leads()) {
      return;
    }
    try {
      anchorIfBehind();
    } catch (RuntimeException | SQLException e) {
      LOG.warnf("Could not anchor the audit chain: %s", e.getMessage());
    }
  }

  /**
   * Anchors now if the chain has grown {@code robusto.audit.anchor-rows} or more past the anchor
   * (0: never by rows); returns whether it tried. An anchor refused (the chain was tampered with)
   * is tried again only after as many rows more, or at the interval.
   */
  public boolean anchorIfBehind() throws SQLException {
    var last = store.last();
    if (anchorRows <= 0 || last.isEmpty()) {
      return false;
    }
    var anchored = anchoredSeq.get();
    if (anchored < 0) {
      anchored = current().map(AuditAnchor::seq).orElse(0L);
      anchoredSeq.set(anchored);
    }
    if (last.get().seq() - anchored < anchorRows) {
      return false;
    }
    anchor();
    anchoredSeq.accumulateAndGet(last.get().seq(), Math::max);
    return true;
  }

  @Scheduled(
      every = "${robusto.audit.checkpoint-interval}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void scheduledCheckpoint() {
    if (!leadership.leads()) {
      return;
    }
    try {
      checkpoint();
    } catch (RuntimeException | SQLException e) {
      LOG.warnf("Could not checkpoint the audit chain: %s", e.getMessage());
    }
  }

  /**
   * A checkpoint as found: its ConfigMap's name, and the row it pins (seq 0 or hash null:
   * unreadable).
   */
  public record Checkpoint(String name, long seq, String hash) {
    boolean readable() {
      return seq > 0 && hash != null && hash.matches("[0-9a-f]{64}");
    }
  }

  /** Every checkpoint written so far, oldest first. */
  public java.util.List<Checkpoint> checkpoints() {
    return client
        .configMaps()
        .inNamespace(namespace)
        .withLabel(CHECKPOINT_LABEL, "true")
        .list()
        .getItems()
        .stream()
        .map(AuditAnchoring::checkpoint)
        .sorted(java.util.Comparator.comparingLong(Checkpoint::seq))
        .toList();
  }

  private static Checkpoint checkpoint(ConfigMap map) {
    var data = map.getData() == null ? Map.<String, String>of() : map.getData();
    long seq;
    try {
      seq = Long.parseLong(data.getOrDefault("seq", "0"));
    } catch (NumberFormatException e) {
      seq = 0;
    }
    return new Checkpoint(map.getMetadata().getName(), seq, data.get("hash"));
  }

  /**
   * Writes a checkpoint of the chain's last row, unless the latest one is that row; returns it. A
   * chain that no longer holds the latest checkpoint gets none (a Warning Event says why): a
   * checkpoint must never vouch for a rewritten chain.
   */
  public Optional<AuditAnchor> checkpoint() throws SQLException {
    var existing = checkpoints().stream().filter(Checkpoint::readable).toList();
    var latest =
        existing.isEmpty()
            ? null
            : new AuditAnchor(
                existing.get(existing.size() - 1).seq(), existing.get(existing.size() - 1).hash());
    if (latest != null) {
      var row = store.at(latest.seq());
      if (row.isEmpty() || !row.get().hash().equals(latest.hash())) {
        event(
            KubeEvents.WARNING,
            "AuditChainTampered",
            "Audit row %d no longer has the hash %s of its checkpoint: the chain was cut or rewritten. No new checkpoint; run 'audit verify'."
                .formatted(latest.seq(), latest.hash()));
        return Optional.empty();
      }
    }
    var last = store.last();
    if (last.isEmpty() || last.get().equals(latest)) {
      return Optional.ofNullable(latest);
    }
    var checkpoint =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName(CHECKPOINT_PREFIX + last.get().seq())
            .withNamespace(namespace)
            .withLabels(Map.of("app.kubernetes.io/managed-by", "robusto", CHECKPOINT_LABEL, "true"))
            .endMetadata()
            .withImmutable(true)
            .withData(
                Map.of(
                    "seq", Long.toString(last.get().seq()),
                    "hash", last.get().hash(),
                    "checkpointedAt", Instant.now().toString()))
            .build();
    try {
      client.resource(checkpoint).create();
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      // Taken already (not by this operator, which writes each row once) or refused: say so where
      // people look, as the anchor's tampering is said.
      event(
          KubeEvents.WARNING,
          "AuditCheckpointFailed",
          "Could not write audit checkpoint %s (row %d): %s. Rows after the last checkpoint are not pinned; find who created or blocks it."
              .formatted(checkpoint.getMetadata().getName(), last.get().seq(), e.getMessage()));
      throw e;
    }
    event(
        KubeEvents.NORMAL,
        "AuditCheckpointed",
        "Audit chain checkpointed at row %d, hash %s (ConfigMap %s, kept unchangeable)"
            .formatted(last.get().seq(), last.get().hash(), checkpoint.getMetadata().getName()));
    return last;
  }

  /** Moves the anchor to the chain's last row; returns the anchor in force afterwards. */
  public Optional<AuditAnchor> anchor() throws SQLException {
    var previous = current();
    if (previous.isPresent()) {
      var row = store.at(previous.get().seq());
      if (row.isEmpty() || !row.get().hash().equals(previous.get().hash())) {
        event(
            KubeEvents.WARNING,
            "AuditChainTampered",
            "Audit row %d no longer has the anchored hash %s: the chain was cut or rewritten. The anchor is kept; run 'audit verify'."
                .formatted(previous.get().seq(), previous.get().hash()));
        return previous;
      }
    }
    var last = store.last();
    if (last.isEmpty() || last.equals(previous)) {
      return previous;
    }
    client.resource(configMap(last.get())).serverSideApply();
    anchoredSeq.set(last.get().seq());
    event(
        KubeEvents.NORMAL,
        "AuditAnchored",
        "Audit chain anchored at row %d, hash %s".formatted(last.get().seq(), last.get().hash()));
    return last;
  }

  private ConfigMap configMap(AuditAnchor anchor) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(CONFIG_MAP)
        .withNamespace(namespace)
        .withLabels(Map.of("app.kubernetes.io/managed-by", "robusto"))
        .endMetadata()
        .withData(
            Map.of(
                "seq", Long.toString(anchor.seq()),
                "hash", anchor.hash(),
                "anchoredAt", Instant.now().toString()))
        .build();
  }

  private void event(String type, String reason, String message) {
    var anchor =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName(CONFIG_MAP)
            .withNamespace(namespace)
            .endMetadata()
            .build();
    KubeEvents.record(client, anchor, type, reason, message);
  }
}
