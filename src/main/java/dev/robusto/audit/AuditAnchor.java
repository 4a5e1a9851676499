package dev.robusto.audit;

/**
 * A chain position copied outside the database: the row {@code seq} must still carry {@code hash}.
 * A superuser who rewrites or truncates the chain, and its head, cannot change the copy.
 */
public record AuditAnchor(long seq, String hash) {}
