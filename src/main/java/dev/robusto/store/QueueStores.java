package dev.robusto.store;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import javax.sql.DataSource;

/**
 * The queue, the daily ledger, batch rows, flag rows and fleet figures, on the operator's
 * PostgreSQL datasource.
 */
@ApplicationScoped
public class QueueStores {

  private final DataSource dataSource;

  public QueueStores(DataSource dataSource) {
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
  FleetMetrics fleetMetrics() {
    return new FleetMetrics(dataSource);
  }
}
