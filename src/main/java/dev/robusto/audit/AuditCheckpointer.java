package dev.robusto.audit;

import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The audit checkpointer: a process apart from the operator (the chart's Deployment {@code
 * <release>-audit-checkpointer}) under an identity of its own. Its database login reads only each
 * row's seq and hash; its ServiceAccount may create ConfigMaps and Events in the operator's
 * namespace, and the chart's ValidatingAdmissionPolicy lets no one else create a checkpoint. It
 * pins the chain's last row in a checkpoint once {@code rows} rows were appended after the last
 * one, and at least every {@code interval} while rows are appended. Whoever holds the operator's
 * identity and the database together can then cut or rewrite at most the rows after the last
 * checkpoint unseen.
 */
public final class AuditCheckpointer {

  private static final Logger LOG = Logger.getLogger(AuditCheckpointer.class);

  private final AuditCheckpoints checkpoints;
  private final AuditCheckpoints.Chain chain;
  private final long rows;
  private final Duration interval;
  // The newest checkpoint as last read or written (null: not read yet), so a round that writes
  // nothing costs one query and no list of ConfigMaps.
  private Optional<AuditCheckpoints.Checkpoint> latest;
  // When a checkpoint was last refused (the chain no longer holds the latest one): tried again only
  // an interval later, so the Warning Event is not repeated every round.
  private Instant refusedAt;

  public AuditCheckpointer(
      AuditCheckpoints checkpoints, AuditCheckpoints.Chain chain, long rows, Duration interval) {
    this.checkpoints = checkpoints;
    this.chain = chain;
    this.rows = rows;
    this.interval = interval;
  }

  /**
   * One look at the chain at {@code now}: writes a checkpoint of its last row if {@code rows} rows
   * or more follow the latest checkpoint, or if any do and the latest is {@code interval} old (or
   * there is none); returns the checkpoint written, if one was.
   */
  public Optional<AuditAnchor> round(Instant now) throws SQLException {
    var last = chain.last();
    if (last.isEmpty()) {
      return Optional.empty();
    }
    if (latest == null) {
      latest = checkpoints.latest();
    }
    var behind = last.get().seq() - latest.map(AuditCheckpoints.Checkpoint::seq).orElse(0L);
    if (behind == 0) {
      return Optional.empty();
    }
    var since =
        refusedAt != null ? refusedAt : latest.map(AuditCheckpoints.Checkpoint::at).orElse(null);
    var byTime = since == null || !now.isBefore(since.plus(interval));
    // A chain that ends before its checkpoint was cut: the attempt below says so at once.
    var byRows = refusedAt == null && (behind < 0 || (rows > 0 && behind >= rows));
    if (!byTime && !byRows) {
      return Optional.empty();
    }
    // Read again before vouching: the one to check the chain against is the newest there is.
    latest = checkpoints.latest();
    var pinned = latest.map(c -> new AuditAnchor(c.seq(), c.hash()));
    var inForce = checkpoints.write(chain, latest);
    if (inForce.isEmpty()) {
      refusedAt = now;
      return Optional.empty();
    }
    refusedAt = null;
    if (inForce.equals(pinned)) {
      return Optional.empty();
    }
    var written = inForce.get();
    latest =
        Optional.of(
            new AuditCheckpoints.Checkpoint(
                AuditCheckpoints.PREFIX + written.seq(), written.seq(), written.hash(), now));
    return inForce;
  }

  /**
   * Runs until stopped. Settings, from the environment: QUARKUS_DATASOURCE_JDBC_URL, _USERNAME and
   * _PASSWORD (its own login), ROBUSTO_OPERATOR_NAMESPACE (where the checkpoints go; default: its
   * own), ROBUSTO_AUDIT_CHECKPOINT_ROWS (10000), ROBUSTO_AUDIT_CHECKPOINT_INTERVAL (15m) and
   * ROBUSTO_AUDIT_CHECKPOINT_POLL (5s). The cluster is reached as its ServiceAccount, or as
   * KUBECONFIG says when run outside one.
   */
  public static void main(String[] args) throws InterruptedException {
    var env = System.getenv();
    var url = env.get("QUARKUS_DATASOURCE_JDBC_URL");
    var user = env.get("QUARKUS_DATASOURCE_USERNAME");
    var password = env.get("QUARKUS_DATASOURCE_PASSWORD");
    if (url == null || user == null || password == null) {
      System.err.println(
          "audit-checkpointer: set QUARKUS_DATASOURCE_JDBC_URL, QUARKUS_DATASOURCE_USERNAME and"
              + " QUARKUS_DATASOURCE_PASSWORD (the checkpointer's own login, a member of"
              + " robusto_audit_reader)");
      System.exit(2);
    }
    long rows;
    Duration interval;
    Duration poll;
    try {
      rows = Long.parseLong(setting(env, "ROBUSTO_AUDIT_CHECKPOINT_ROWS", "10000"));
      interval = duration(setting(env, "ROBUSTO_AUDIT_CHECKPOINT_INTERVAL", "15m"));
      poll = duration(setting(env, "ROBUSTO_AUDIT_CHECKPOINT_POLL", "5s"));
    } catch (RuntimeException e) {
      System.err.println("audit-checkpointer: " + e.getMessage());
      System.exit(2);
      return;
    }
    var dataSource = new PGSimpleDataSource();
    dataSource.setUrl(url);
    dataSource.setUser(user);
    dataSource.setPassword(password);
    try (var client = new KubernetesClientBuilder().build()) {
      var namespace = env.getOrDefault("ROBUSTO_OPERATOR_NAMESPACE", client.getNamespace());
      var checkpointer =
          new AuditCheckpointer(
              new AuditCheckpoints(client, namespace),
              new AuditCheckpoints.Chain(dataSource),
              rows,
              interval);
      LOG.infof(
          "Checkpointing the audit chain into namespace %s every %d rows, or %s while rows are"
              + " appended (looking every %s)",
          namespace, rows, interval, poll);
      while (!Thread.currentThread().isInterrupted()) {
        try {
          checkpointer
              .round(Instant.now())
              .ifPresent(c -> LOG.infof("Checkpointed the audit chain at row %d", c.seq()));
        } catch (SQLException | RuntimeException e) {
          LOG.warnf("Could not checkpoint the audit chain: %s", e.getMessage());
        }
        Thread.sleep(poll.toMillis());
      }
    }
  }

  private static String setting(Map<String, String> env, String name, String otherwise) {
    var value = env.get(name);
    return value == null || value.isBlank() ? otherwise : value.strip();
  }

  /** "15m", "30s", "1h" (as the chart's other durations) or ISO-8601 ("PT15M"). */
  static Duration duration(String text) {
    try {
      var value = text.toUpperCase(Locale.ROOT);
      var parsed = Duration.parse(value.startsWith("P") ? value : "PT" + value);
      if (parsed.isNegative() || parsed.isZero()) {
        throw new IllegalArgumentException("not positive");
      }
      return parsed;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration: write it as 30s, 15m or 1h", e);
    }
  }
}
