package dev.robusto.audit;

import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.Sql;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The audit chain's checkpoints: one immutable ConfigMap per pinned row ({@code
 * robusto-audit-checkpoint-<seq>}) in the operator's namespace. Only the checkpointer's
 * ServiceAccount may create them and no one may change or delete them (the chart's
 * ValidatingAdmissionPolicy), so whoever holds the operator's identity and the database together
 * still cannot cut or rewrite a checkpointed row unseen. The operator reads them to verify; {@link
 * AuditCheckpointer} writes them.
 */
public final class AuditCheckpoints {

  public static final String PREFIX = "robusto-audit-checkpoint-";
  public static final String LABEL = "robusto.dev/audit-checkpoint";

  /**
   * Where the chain stands, as a login that reads its seq and hash columns sees it (all the
   * checkpointer may read).
   */
  public static final class Chain {
    private final Sql sql;

    public Chain(DataSource dataSource) {
      this.sql = new Sql(dataSource);
    }

    /** The chain's last row, or empty before the first append. */
    public Optional<AuditAnchor> last() throws SQLException {
      return sql.one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", Chain::anchor);
    }

    /** The row at {@code seq} as it is now. */
    public Optional<AuditAnchor> at(long seq) throws SQLException {
      return sql.one("SELECT seq, hash FROM audit_log WHERE seq = ?", Chain::anchor, seq);
    }

    /** How many rows there are after {@code afterSeq}, up to {@code toSeq} included. */
    public long count(long afterSeq, long toSeq) throws SQLException {
      return sql.one(
              "SELECT count(*) FROM audit_log WHERE seq > ? AND seq <= ?",
              rs -> rs.getLong(1),
              afterSeq,
              toSeq)
          .orElseThrow();
    }

    private static AuditAnchor anchor(java.sql.ResultSet rs) throws SQLException {
      return new AuditAnchor(rs.getLong(1), rs.getString(2));
    }
  }

  /**
   * A checkpoint as found: its ConfigMap's name, the row it pins (seq 0 or hash null: unreadable)
   * and when it was written (null: not said).
   */
  public record Checkpoint(String name, long seq, String hash, Instant at) {
    boolean readable() {
      return seq > 0 && hash != null && hash.matches("[0-9a-f]{64}");
    }
  }

  private final KubernetesClient client;
  private final String namespace;

  public AuditCheckpoints(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** Every checkpoint written so far, oldest first. */
  public List<Checkpoint> list() {
    return client
        .configMaps()
        .inNamespace(namespace)
        .withLabel(LABEL, "true")
        .list()
        .getItems()
        .stream()
        .map(AuditCheckpoints::checkpoint)
        .sorted(Comparator.comparingLong(Checkpoint::seq))
        .toList();
  }

  /** The newest readable checkpoint, if any. */
  public Optional<Checkpoint> latest() {
    var readable = list().stream().filter(Checkpoint::readable).toList();
    return readable.isEmpty() ? Optional.empty() : Optional.of(readable.get(readable.size() - 1));
  }

  private static Checkpoint checkpoint(ConfigMap map) {
    var data = map.getData() == null ? Map.<String, String>of() : map.getData();
    long seq;
    try {
      seq = Long.parseLong(data.getOrDefault("seq", "0"));
    } catch (NumberFormatException e) {
      seq = 0;
    }
    Instant at;
    try {
      at = data.containsKey("checkpointedAt") ? Instant.parse(data.get("checkpointedAt")) : null;
    } catch (java.time.format.DateTimeParseException e) {
      at = null;
    }
    return new Checkpoint(map.getMetadata().getName(), seq, data.get("hash"), at);
  }

  /**
   * Writes a checkpoint of the chain's last row, unless {@code latest} (the newest checkpoint) is
   * that row; returns the checkpoint in force afterwards. A chain that no longer holds {@code
   * latest}, or lacks a row after it or has one twice, gets none (a Warning Event says why): a
   * checkpoint must never vouch for a rewritten chain.
   */
  public Optional<AuditAnchor> write(Chain chain, Optional<Checkpoint> latest) throws SQLException {
    var pinned = latest.map(c -> new AuditAnchor(c.seq(), c.hash()));
    if (pinned.isPresent()) {
      var row = chain.at(pinned.get().seq());
      if (row.isEmpty() || !row.get().hash().equals(pinned.get().hash())) {
        event(
            KubeEvents.WARNING,
            "AuditChainTampered",
            "Audit row %d no longer has the hash %s of its checkpoint: the chain was cut or rewritten. No new checkpoint; run 'audit verify'."
                .formatted(pinned.get().seq(), pinned.get().hash()));
        return Optional.empty();
      }
    }
    var last = chain.last();
    if (last.isEmpty() || last.equals(pinned)) {
      return pinned;
    }
    // Every row in between, once: a row planted far ahead (to be pinned, then removed, which
    // would leave the chain forever "behind" its checkpoint) or a gap is refused here.
    var from = pinned.map(AuditAnchor::seq).orElse(0L);
    var expected = last.get().seq() - from;
    var found = chain.count(from, last.get().seq());
    if (pinned.isPresent() && found != expected) {
      event(
          KubeEvents.WARNING,
          "AuditChainTampered",
          "Audit rows %d to %d are %d, not %d: rows were cut or planted after the checkpoint at row %d. No new checkpoint; run 'audit verify'."
              .formatted(from + 1, last.get().seq(), found, expected, from));
      return Optional.empty();
    }
    var checkpoint =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName(PREFIX + last.get().seq())
            .withNamespace(namespace)
            .withLabels(Map.of("app.kubernetes.io/managed-by", "robusto", LABEL, "true"))
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
    } catch (KubernetesClientException e) {
      // Taken already (not by the checkpointer, which writes each row once) or refused: say so
      // where people look.
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

  private void event(String type, String reason, String message) {
    var about =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName(AuditAnchoring.CONFIG_MAP)
            .withNamespace(namespace)
            .endMetadata()
            .build();
    KubeEvents.record(client, about, type, reason, message);
  }
}
