package dev.robusto.tenant;

import java.sql.SQLException;

/** PostgreSQL refused or could not be reached while syncing a tenant; retried with backoff. */
class TenantDatabaseException extends RuntimeException {
  TenantDatabaseException(SQLException cause) {
    super("PostgreSQL: " + cause.getMessage(), cause);
  }
}
