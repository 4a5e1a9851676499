package dev.robusto.tenant;

/**
 * A Tenant that passed the CRD's validation but cannot be provisioned as written, for example
 * limits that contradict the tier's defaults. Reported in the Ready condition, not retried: only a
 * change to the Tenant (or the operator's tier config) can fix it.
 */
class InvalidTenantException extends RuntimeException {
  InvalidTenantException(String message) {
    super(message);
  }
}
