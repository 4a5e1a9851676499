package dev.robusto.audit;

import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Audit verification as the HTTP API serves it: one walk at a time, its answer shared for {@code
 * robusto.audit.verify-cache} by every caller, and each walk starting from the last row the
 * previous one verified (see {@link AuditVerifier#verify(java.sql.Connection, AuditAnchor,
 * AuditAnchor)}), so its cost follows what was appended, not the chain's length. A walk from the
 * first row is made when asked ({@link #full}) and at least every {@code
 * robusto.audit.full-verify-interval}: only it finds a change to an old row that kept every hash.
 */
@ApplicationScoped
public class AuditVerifications {

  /** A verification's result, what it checked against, and from where. */
  public record Result(
      AuditVerification verification,
      Optional<AuditAnchor> anchor,
      long fromSeq,
      long chainLength,
      Instant at) {}

  private final AuditStore store;
  private final AuditAnchoring anchoring;
  private final Duration cacheFor;
  private final Duration fullEvery;
  private AuditAnchor checkpoint;
  private Instant lastFull = Instant.EPOCH;
  private Result last;

  AuditVerifications(
      AuditStore store,
      AuditAnchoring anchoring,
      @ConfigProperty(name = "robusto.audit.verify-cache") Duration cacheFor,
      @ConfigProperty(name = "robusto.audit.full-verify-interval") Duration fullEvery) {
    this.store = store;
    this.anchoring = anchoring;
    this.cacheFor = cacheFor;
    this.fullEvery = fullEvery;
  }

  /** The latest answer, walking what was appended since when it is older than the cache time. */
  public synchronized Result latest() throws SQLException {
    var now = Instant.now();
    if (last != null && last.at().plus(cacheFor).isAfter(now)) {
      return last;
    }
    return walk(now.isAfter(lastFull.plus(fullEvery)) ? null : checkpoint, now);
  }

  /**
   * Walks the whole chain now; callers that asked while a walk from the first row was running share
   * its answer instead of starting another.
   */
  public Result full() throws SQLException {
    var asked = Instant.now();
    synchronized (this) {
      if (last != null && last.fromSeq() == 1 && !last.at().isBefore(asked)) {
        return last;
      }
      return walk(null, Instant.now());
    }
  }

  /**
   * An intact walk, checked against every checkpoint too (one per checkpoint interval at most, or
   * per N rows; an admin prunes old ones): the first checkpointed row that is gone or has another
   * hash breaks it.
   */
  private AuditVerification againstCheckpoints(AuditVerification walked) throws SQLException {
    var checkpoints = anchoring.checkpoints();
    if (!walked.intact() || checkpoints.isEmpty()) {
      return walked;
    }
    for (var checkpoint : checkpoints) {
      if (!checkpoint.readable()) {
        return new AuditVerification(
            false,
            walked.rows(),
            null,
            "checkpoint ConfigMap %s has no row and hash the checkpointer would write: someone else made it"
                .formatted(checkpoint.name()),
            walked.millis(),
            null);
      }
    }
    var hashes =
        store.hashesAt(checkpoints.stream().map(AuditCheckpoints.Checkpoint::seq).toList());
    for (var checkpoint : checkpoints) {
      var hash = hashes.get(checkpoint.seq());
      if (!checkpoint.hash().equals(hash)) {
        return new AuditVerification(
            false,
            walked.rows(),
            checkpoint.seq(),
            "row %d %s its checkpoint (ConfigMap %s, which no one can change): the chain was %s"
                .formatted(
                    checkpoint.seq(),
                    hash == null ? "is gone, though it has" : "differs from",
                    checkpoint.name(),
                    hash == null ? "cut" : "rewritten"),
            walked.millis(),
            null);
      }
    }
    return walked;
  }

  private Result walk(AuditAnchor from, Instant now) throws SQLException {
    var anchor = anchoring.current();
    var verification = againstCheckpoints(store.verify(from, anchor.orElse(null)));
    if (from == null) {
      lastFull = now;
    }
    // Only an intact chain moves the start of the next walk; a broken one is walked again.
    checkpoint = verification.intact() ? verification.head() : null;
    var length =
        verification.head() != null
            ? verification.head().seq()
            : (from == null ? 0 : from.seq()) + verification.rows();
    // Stamped when the walk ends: callers who asked while it ran share it (see full()).
    last =
        new Result(verification, anchor, from == null ? 1 : from.seq() + 1, length, Instant.now());
    return last;
  }
}
