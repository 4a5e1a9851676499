package dev.robusto.tenant;

import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.operator.Leadership;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import org.jboss.logging.Logger;

/**
 * Ends tenant database sessions that hold a transaction open too long. A tenant owner holds its
 * role's password and may set its own session's timeouts; a transaction it leaves open keeps row
 * locks and holds back vacuum for every tenant. The leader checks every 15 s, and records each
 * ended session in the audit log.
 */
@ApplicationScoped
public class TenantSessionWatchdog {

  private static final Logger LOG = Logger.getLogger(TenantSessionWatchdog.class);

  private final TenantDatabase database;
  private final AuditLog audit;
  private final TenantDefaults defaults;
  private final Leadership leadership;

  TenantSessionWatchdog(
      TenantDatabase database, AuditLog audit, TenantDefaults defaults, Leadership leadership) {
    this.database = database;
    this.audit = audit;
    this.defaults = defaults;
    this.leadership = leadership;
  }

  @Scheduled(
      every = "${robusto.tenant.database.watchdog-interval}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void check() {
    if (!leadership.leads()) {
      return;
    }
    try {
      var limits = defaults.database();
      for (var session :
          database.endLongTransactions(limits.maxTransaction(), limits.maxIdleInTransaction())) {
        LOG.warnf(
            "Ended a session of %s (tenant %s): it held a transaction open past the limit",
            session.role(), session.tenantId());
        // The session, ended.
        new Auditor(audit, TenantDatabaseSync.ACTOR)
            .record("delete", "postgres-session/" + session.role(), session.tenantId(), null, null);
      }
    } catch (SQLException | RuntimeException e) {
      LOG.warnf("Could not check tenant sessions: %s", e.getMessage());
    }
  }
}
