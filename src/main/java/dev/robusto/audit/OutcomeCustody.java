package dev.robusto.audit;

import dev.robusto.operator.Leadership;
import dev.robusto.tenant.PayloadCipher;
import dev.robusto.tenant.PayloadKeys;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The chain of custody of ticket outcomes. The leader chains finished tickets in rounds: per
 * tenant, one audit row ({@code create TicketOutcomes/<tenant>/<first>-<last>}, its after hash the
 * digest of the round's outcome hashes) and, in the same transaction, each outcome's hash in {@code
 * outcome_custody}. The audit row is chained and sealed, so verification ({@link #verify}) finds an
 * outcome changed after it was chained, a custody hash changed or removed, and an outcome removed
 * while its batch remains and retention would have kept it.
 *
 * <p>An outcome's hash covers its ids, key, state, attempts, last error, times and payload; the
 * round's digest covers each outcome's hash with its batch and finish time, which tell a removal
 * with its batch or by retention from another. A redrive turns a dead letter's state to {@code
 * redriven}, the one change allowed: it marks the outcome unchained, the next round chains it
 * again, and an earlier custody hash then matches the outcome as it was, {@code dead_lettered}.
 */
@ApplicationScoped
public class OutcomeCustody {

  static final String ACTOR = "robusto-operator/custody";
  static final String RESOURCE = "TicketOutcomes/";

  /** Outcomes chained per round: one read, one commit. */
  static final int ROUND = 10_000;

  private static final Logger LOG = Logger.getLogger(OutcomeCustody.class);
  private static final String OUTCOME_COLUMNS =
      "o.item_id, o.batch_id, o.tenant_id, o.idempotency_key, o.state, o.attempts, o.last_error,"
          + " o.created_at, o.finished_at, o.payload::text";
  private static final String UNCHAINED =
      "SELECT "
          + OUTCOME_COLUMNS
          + " FROM automation_item_outcomes o WHERE o.custody_seq IS NULL ORDER BY o.item_id LIMIT ?";

  private final DataSource dataSource;
  private final PayloadKeys payloads;
  private final AuditLog log;
  private final Leadership leadership;
  private final Duration retention;

  public OutcomeCustody(
      DataSource dataSource,
      PayloadKeys payloads,
      AuditLog log,
      Leadership leadership,
      @ConfigProperty(name = "robusto.retention.finished-after") Duration retention) {
    this.dataSource = dataSource;
    this.payloads = payloads;
    this.log = log;
    this.leadership = leadership;
    this.retention = retention;
  }

  @Scheduled(
      every = "${robusto.audit.custody-interval}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void scheduled() {
    if (!leadership.leads()) {
      return;
    }
    try {
      while (chain() == ROUND && leadership.leads()) {
        // a backlog: the next round now, while this replica still leads
      }
    } catch (SQLException | RuntimeException e) {
      LOG.warnf("Could not chain ticket outcomes: %s", e.getMessage());
    }
  }

  /** One finished ticket as chained. */
  record Outcome(
      long itemId, UUID batchId, String tenantId, OffsetDateTime finishedAt, String hash) {}

  /** Chains up to {@link #ROUND} outcomes not chained yet; returns how many. */
  public int chain() throws SQLException {
    var byTenant = new LinkedHashMap<String, List<Outcome>>();
    var count = 0;
    try (var connection = dataSource.getConnection();
        var read = connection.prepareStatement(UNCHAINED)) {
      connection.setAutoCommit(false); // a cursor: payloads are read a thousand at a time
      read.setInt(1, ROUND);
      read.setFetchSize(1_000);
      var sha256 = AuditCanonical.sha256();
      try (var rs = read.executeQuery()) {
        while (rs.next()) {
          var outcome = outcome(rs, payloads, sha256);
          byTenant.computeIfAbsent(outcome.tenantId(), t -> new ArrayList<>()).add(outcome);
          count++;
        }
      } finally {
        connection.rollback();
        connection.setAutoCommit(true);
      }
    }
    if (count == 0) {
      return 0;
    }
    var appends = new ArrayList<AuditLog.Append>();
    for (var tenant : byTenant.entrySet()) {
      var outcomes = tenant.getValue();
      var entry =
          new AuditEntry(
              ACTOR,
              "create",
              "%s%s/%d-%d"
                  .formatted(
                      RESOURCE,
                      tenant.getKey(),
                      outcomes.get(0).itemId(),
                      outcomes.get(outcomes.size() - 1).itemId()),
              tenant.getKey(),
              null,
              digest(outcomes.stream().map(OutcomeCustody::line).toList()));
      appends.add(new AuditLog.Append(entry, (c, seq) -> record(c, seq, outcomes)));
    }
    log.appendWith(appends, Duration.ofSeconds(60));
    return count;
  }

  /** What the round's digest covers of one outcome. */
  private static String line(Outcome o) {
    return line(o.itemId(), o.batchId().toString(), o.finishedAt(), o.hash());
  }

  private static String line(long itemId, String batchId, OffsetDateTime finishedAt, String hash) {
    return itemId + ":" + batchId + ":" + micros(finishedAt) + ":" + hash;
  }

  /** Marks the outcomes chained under audit row {@code seq} and keeps their hashes. */
  private static void record(Connection c, long seq, List<Outcome> outcomes) throws SQLException {
    var ids = outcomes.stream().map(Outcome::itemId).toArray(Long[]::new);
    try (var mark =
        c.prepareStatement(
            "UPDATE automation_item_outcomes SET custody_seq = ?"
                + " WHERE item_id = ANY(?) AND custody_seq IS NULL")) {
      mark.setLong(1, seq);
      mark.setArray(2, c.createArrayOf("bigint", ids));
      var marked = mark.executeUpdate();
      if (marked != outcomes.size()) {
        // Chained meanwhile, or removed (their batch deleted): the next round reads them again.
        throw new SQLException(
            "%d of %d ticket outcomes changed while being chained; trying again next round"
                .formatted(outcomes.size() - marked, outcomes.size()));
      }
    }
    try (var keep =
        c.prepareStatement(
            "INSERT INTO outcome_custody (seq, item_id, batch_id, finished_at, hash)"
                + " SELECT ?, * FROM unnest(?::bigint[], ?::uuid[], ?::timestamptz[], ?::text[])")) {
      keep.setLong(1, seq);
      keep.setArray(2, c.createArrayOf("bigint", ids));
      keep.setArray(
          3, c.createArrayOf("uuid", outcomes.stream().map(Outcome::batchId).toArray(UUID[]::new)));
      keep.setArray(
          4,
          c.createArrayOf(
              "timestamptz",
              outcomes.stream().map(Outcome::finishedAt).toArray(OffsetDateTime[]::new)));
      keep.setArray(
          5, c.createArrayOf("text", outcomes.stream().map(Outcome::hash).toArray(String[]::new)));
      keep.executeUpdate();
    }
  }

  /** What a verification found: over how many audit rows and outcomes, and the first problem. */
  public record Verification(
      boolean intact,
      long auditRows,
      long outcomes,
      long removed,
      Long firstBrokenSeq,
      String problem,
      long millis) {}

  /**
   * Checks every custody row against its audit row's digest and the outcome it names against its
   * hash, in one snapshot. An outcome that is gone counts as removed when its batch is gone too
   * (deleted, or its tenant erased) or retention would have removed it; otherwise it is a problem.
   */
  public Verification verify() throws SQLException {
    var started = System.nanoTime();
    try (var connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      connection.setReadOnly(true);
      try {
        var walk = new Walk(Instant.now().minus(retention).plus(Duration.ofDays(1)));
        walk.run(connection);
        return walk.result(started);
      } finally {
        connection.rollback();
        connection.setReadOnly(false);
        connection.setAutoCommit(true);
      }
    }
  }

  /** One pass over the custody rows, merged with their audit rows in seq order. */
  private final class Walk {
    /** Where the outcome's columns start in the custody walk's rows. */
    private static final int OUTCOME = 8;

    private final Instant retainedSince;
    private final MessageDigest sha256 = AuditCanonical.sha256();
    private long auditRows;
    private long outcomes;
    private long removed;
    private Long brokenSeq;
    private String problem;

    Walk(Instant retainedSince) {
      this.retainedSince = retainedSince;
    }

    void run(Connection connection) throws SQLException {
      try (var entries =
              connection.prepareStatement(
                  "SELECT seq, after_hash FROM audit_log WHERE actor = ? AND action = 'create'"
                      + " AND starts_with(resource, ?) ORDER BY seq");
          var custody =
              connection.prepareStatement(
                  "SELECT c.seq, c.item_id, c.hash, c.finished_at,"
                      + " EXISTS (SELECT FROM automation_batches b WHERE b.batch_id = c.batch_id),"
                      + " c.batch_id, o.custody_seq, "
                      + OUTCOME_COLUMNS
                      + " FROM outcome_custody c LEFT JOIN automation_item_outcomes o"
                      + " ON o.item_id = c.item_id ORDER BY c.seq, c.item_id")) {
        entries.setString(1, ACTOR);
        entries.setString(2, RESOURCE);
        entries.setFetchSize(1_000);
        custody.setFetchSize(10_000);
        try (var audit = entries.executeQuery();
            var rows = custody.executeQuery()) {
          var more = rows.next();
          while (problem == null && audit.next()) {
            auditRows++;
            var seq = audit.getLong(1);
            if (more && rows.getLong(1) < seq) {
              fail(rows.getLong(1), "custody hashes name audit row %d, which chains no outcomes");
              return;
            }
            var lines = new ArrayList<String>();
            while (more && rows.getLong(1) == seq) {
              lines.add(
                  line(
                      rows.getLong(2),
                      rows.getString(6),
                      rows.getObject(4, OffsetDateTime.class),
                      rows.getString(3)));
              check(seq, rows);
              more = rows.next();
            }
            if (problem == null && !digest(lines).equals(audit.getString(2))) {
              fail(seq, "the custody hashes of audit row %d were changed or removed");
            }
          }
          if (problem == null && more) {
            fail(rows.getLong(1), "custody hashes name audit row %d, which chains no outcomes");
          }
        }
      }
      if (problem == null) {
        strays(connection);
      }
    }

    /**
     * The outcome named by the custody row at {@code rows}: still as chained (or, chained again
     * since, redriven from the dead letter it was), or gone with its batch or by retention (which
     * removes outcomes finished before its period; a day's grace).
     */
    private void check(long seq, ResultSet rows) throws SQLException {
      outcomes++;
      var itemId = rows.getLong(2);
      if (rows.getObject(OUTCOME) == null) {
        var finished = rows.getObject(4, OffsetDateTime.class).toInstant();
        if (rows.getBoolean(5) && finished.isAfter(retainedSince)) {
          fail(
              seq,
              "the outcome of ticket %d (audit row %%d) was removed while its batch remains"
                  .formatted(itemId));
        }
        removed++;
        return;
      }
      var chained = rows.getString(3);
      var payload = payload(payloads, rows, OUTCOME);
      if (hash(rows, OUTCOME, null, payload, sha256).equals(chained)) {
        return;
      }
      var chainedSince = rows.getObject(7) == null ? null : rows.getLong(7);
      var redriven =
          (chainedSince == null || chainedSince > seq)
              && "redriven".equals(rows.getString(OUTCOME + 4))
              && hash(rows, OUTCOME, "dead_lettered", payload, sha256).equals(chained);
      if (!redriven) {
        fail(
            seq,
            "the outcome of ticket %d (audit row %%d) was changed after it was chained"
                .formatted(itemId));
      }
    }

    /** An outcome marked chained under a row whose custody hashes do not name it. */
    private void strays(Connection connection) throws SQLException {
      try (var stray =
              connection.prepareStatement(
                  "SELECT o.custody_seq, o.item_id FROM automation_item_outcomes o"
                      + " WHERE o.custody_seq IS NOT NULL AND NOT EXISTS (SELECT FROM"
                      + " outcome_custody c WHERE c.seq = o.custody_seq AND c.item_id = o.item_id)"
                      + " ORDER BY o.custody_seq LIMIT 1");
          var rs = stray.executeQuery()) {
        if (rs.next()) {
          fail(
              rs.getLong(1),
              "ticket %d claims custody under audit row %%d, which does not chain it"
                  .formatted(rs.getLong(2)));
        }
      }
    }

    private void fail(long seq, String message) {
      if (problem == null) {
        brokenSeq = seq;
        problem = message.formatted(seq);
      }
    }

    Verification result(long started) {
      return new Verification(
          problem == null,
          auditRows,
          outcomes,
          removed,
          brokenSeq,
          problem,
          (System.nanoTime() - started) / 1_000_000);
    }
  }

  private static Outcome outcome(ResultSet rs, PayloadKeys payloads, MessageDigest sha256)
      throws SQLException {
    return new Outcome(
        rs.getLong(1),
        rs.getObject(2, UUID.class),
        rs.getString(3),
        rs.getObject(9, OffsetDateTime.class),
        hash(rs, 1, null, payload(payloads, rs, 1), sha256));
  }

  /**
   * The payload of the outcome at {@code from} as its tenant gave it: the hash covers what was
   * given, not how it is sealed now, so re-encrypting it under a rotated key changes no hash.
   */
  private static String payload(PayloadKeys payloads, ResultSet rs, int from) throws SQLException {
    try {
      return payloads.open(rs.getString(from + 2), rs.getString(from + 9));
    } catch (PayloadCipher.UnreadablePayloadException e) {
      throw new SQLException(
          "the payload of ticket %d cannot be opened: %s"
              .formatted(rs.getLong(from), e.getMessage()));
    }
  }

  /**
   * The hash of the outcome whose columns ({@link #OUTCOME_COLUMNS}) start at {@code from}: each
   * field length-prefixed, as the audit chain's canonical form, so no two outcomes read the same.
   */
  static String hash(ResultSet rs, int from, MessageDigest sha256) throws SQLException {
    return hash(rs, from, null, rs.getString(from + 9), sha256);
  }

  /**
   * The hash of the outcome at {@code from}, with {@code state} for its own if not null and its
   * payload opened.
   */
  static String hash(ResultSet rs, int from, String state, String payload, MessageDigest sha256)
      throws SQLException {
    var text = new StringBuilder(256);
    field(text, Long.toString(rs.getLong(from)));
    field(text, rs.getString(from + 1));
    field(text, rs.getString(from + 2));
    field(text, rs.getString(from + 3));
    field(text, state != null ? state : rs.getString(from + 4));
    field(text, Integer.toString(rs.getInt(from + 5)));
    field(text, rs.getString(from + 6));
    field(text, micros(rs.getObject(from + 7, OffsetDateTime.class)));
    field(text, micros(rs.getObject(from + 8, OffsetDateTime.class)));
    field(text, payload);
    sha256.reset();
    return HexFormat.of()
        .formatHex(sha256.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
  }

  /** The digest a round's audit row carries: of its outcomes' "item:hash" lines, in item order. */
  static String digest(List<String> lines) {
    var sha256 = AuditCanonical.sha256();
    for (var line : lines) {
      sha256.update((line + "\n").getBytes(StandardCharsets.UTF_8));
    }
    return HexFormat.of().formatHex(sha256.digest());
  }

  private static String micros(OffsetDateTime time) {
    return time == null ? null : Long.toString(AuditVerifier.epochMicros(time));
  }

  private static void field(StringBuilder out, String value) {
    if (value == null) {
      out.append("-|");
    } else {
      out.append(value.length()).append(':').append(value).append('|');
    }
  }
}
