package dev.robusto.audit;

/** An audit entry could not be made durable; the change it describes must not be reported done. */
public class AuditException extends RuntimeException {
  public AuditException(String message, Throwable cause) {
    super(message, cause);
  }
}
