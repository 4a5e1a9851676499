package dev.robusto.tenant;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.math.BigDecimal;
import java.util.Map;

/**
 * Operator-wide defaults for tenants, set in application.properties or the Helm values ({@code
 * tiers:} and {@code tenantDefaults:}). A Tenant's spec overrides them field by field.
 */
@ConfigMapping(prefix = "robusto.tenant")
public interface TenantDefaults {

  /** Defaults per tier, keyed by the tier's name (enterprise, startup, custom). */
  Map<String, TierDefaults> tiers();

  /** Container defaults for every tenant's LimitRange. */
  Map<String, String> defaultRequest();

  Map<String, String> defaultLimit();

  /** How often a Tenant's status.usage is refreshed when nothing else reconciles it. */
  @WithDefault("PT5M")
  java.time.Duration usageRefresh();

  /** Tenant database credentials. */
  Database database();

  interface Database {
    /** How long the previous credential stays valid after a rotation. */
    @WithDefault("PT10M")
    java.time.Duration rotationGrace();

    /** The JDBC URL tenants' workers use, written into their Secret. */
    String jdbcUrl();

    /**
     * The CA (PEM) that signed PostgreSQL's certificate, when the URL verifies it (Helm:
     * database.tls): written into tenants' Secrets, where their workers' connections read it.
     */
    java.util.Optional<String> ca();

    /** A tenant session with a transaction open longer than this is ended. */
    @WithDefault("PT60S")
    java.time.Duration maxTransaction();

    /** A tenant session idle inside a transaction longer than this is ended. */
    @WithDefault("PT30S")
    java.time.Duration maxIdleInTransaction();

    /** How often the leader looks for such sessions. */
    @WithDefault("PT15S")
    java.time.Duration watchdogInterval();
  }

  interface TierDefaults {
    int maxConcurrentJobs();

    int maxDailyJobs();

    @WithDefault("600")
    int requestsPerMinute();

    /**
     * Connections each of the tenant's PostgreSQL roles gets beyond its batch workers' (two per
     * concurrent job): room for its fleet's workers.
     */
    @WithDefault("5")
    int databaseConnections();

    /** ResourceQuota hard limits, e.g. {@code pods: 50}. */
    Map<String, String> resources();

    /** What an admitted ticket costs the tenant, in MXN (a Tenant's spec.billing may override). */
    @WithDefault("0")
    BigDecimal pricePerTicketMxn();
  }
}
