package dev.robusto.operator;

import dev.robusto.batch.BatchStore;
import dev.robusto.batch.DailyLedger;
import dev.robusto.deployment.FleetMetrics;
import dev.robusto.flag.FlagStore;
import dev.robusto.flag.PlatformMetrics;
import dev.robusto.merchant.MerchantObservations;
import dev.robusto.queue.WorkQueue;
import dev.robusto.tenant.TenantDirectory;
import dev.robusto.tenant.TenantUsageStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import javax.sql.DataSource;

/**
 * Every database-backed store (queue, daily ledger, batch rows, tenant directory and usage, flag
 * rows, fleet figures, merchants' observations), on the operator's PostgreSQL datasource.
 */
@ApplicationScoped
public class DatabaseStores {

  private final DataSource dataSource;

  public DatabaseStores(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Produces
  @Singleton
  WorkQueue workQueue() {
    return new WorkQueue(dataSource);
  }

  @Produces
  @Singleton
  DailyLedger dailyLedger() {
    return new DailyLedger(dataSource);
  }

  @Produces
  @Singleton
  FlagStore flagStore() {
    return new FlagStore(dataSource);
  }

  @Produces
  @Singleton
  PlatformMetrics platformMetrics() {
    return new PlatformMetrics(dataSource);
  }

  @Produces
  @Singleton
  BatchStore batchStore() {
    return new BatchStore(dataSource);
  }

  @Produces
  @Singleton
  TenantDirectory tenantDirectory() {
    return new TenantDirectory(dataSource);
  }

  @Produces
  @Singleton
  FleetMetrics fleetMetrics() {
    return new FleetMetrics(dataSource);
  }

  @Produces
  @Singleton
  TenantUsageStore tenantUsageStore() {
    return new TenantUsageStore(dataSource);
  }

  @Produces
  @Singleton
  MerchantObservations merchantObservations() {
    return new MerchantObservations(dataSource);
  }
}
