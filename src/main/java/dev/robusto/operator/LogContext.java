package dev.robusto.operator;

import org.jboss.logging.MDC;

/**
 * The tenant a reconcile works for, in the log context of every line it writes (JSON logs show it
 * under mdc.tenant, next to the Operator SDK's resource.kind, resource.namespace and
 * resource.name). Set once the tenant is known; cleared when the reconcile ends, since threads are
 * pooled.
 */
public final class LogContext {

  public static final String TENANT = "tenant";

  private LogContext() {}

  public static void tenant(String tenantId) {
    if (tenantId != null) {
      MDC.put(TENANT, tenantId);
    }
  }

  public static void clear() {
    MDC.remove(TENANT);
  }
}
