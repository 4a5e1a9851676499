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
 * ServiceAccount could move it too. The checkpoints {@link AuditCheckpointer} writes under an
 * identity of its own are what that holder cannot move (see {@link AuditCheckpoints}); verification
 * checks the chain against both.
 */
@ApplicationScoped
public class AuditAnchoring {

  public static final String CONFIG_MAP = "robusto-audit-anchor";
  private static final Logger LOG = Logger.getLogger(AuditAnchoring.class);

  private final AuditStore store;
  private final KubernetesClient client;
  private final Leadership leadership;
  private final String namespace;
  private final long anchorRows;
  private final AuditCheckpoints checkpoints;
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
    this.checkpoints = new AuditCheckpoints(client, namespace);
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

  /** Every checkpoint the checkpointer wrote so far, oldest first. */
  public java.util.List<AuditCheckpoints.Checkpoint> checkpoints() {
    return checkpoints.list();
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
