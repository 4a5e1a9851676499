package dev.robusto.audit;

/**
 * The outcome of walking the audit chain.
 *
 * @param intact whether every row and the anchor agree
 * @param rows rows read
 * @param firstBrokenSeq the seq of the first row that does not fit the chain, or null
 * @param problem what is wrong, in words, or null when intact
 * @param millis time the walk took
 * @param head the last row of an intact chain (where the next walk may start), or null
 */
public record AuditVerification(
    boolean intact, long rows, Long firstBrokenSeq, String problem, long millis, AuditAnchor head) {

  public double rowsPerSecond() {
    return millis == 0 ? rows * 1000.0 : rows * 1000.0 / millis;
  }
}
