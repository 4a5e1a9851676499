package dev.robusto.batch;

import dev.robusto.store.BatchStore;
import dev.robusto.store.WorkQueue;
import io.javaoperatorsdk.operator.processing.ResourceIDMapper;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.polling.PollingConfigurationBuilder;
import io.javaoperatorsdk.operator.processing.event.source.polling.PollingEventSource;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The progress of every active batch, polled from PostgreSQL in one query: a batch is reconciled
 * when its counts changed since the last poll, and not otherwise.
 */
record BatchProgress(WorkQueue.Counts counts) {

  private static final Logger LOG = Logger.getLogger(BatchProgress.class);

  static PollingEventSource<BatchProgress, AutomationBatch, String> source(
      BatchStore store, Duration interval) {
    return new PollingEventSource<>(
        BatchProgress.class,
        new PollingConfigurationBuilder<BatchProgress, String>(() -> fetch(store), interval)
            .withResourceIDMapper(ResourceIDMapper.singleResourceResourceIDMapper())
            .withName("progress")
            .build());
  }

  private static Map<ResourceID, Set<BatchProgress>> fetch(BatchStore store) {
    var result = new HashMap<ResourceID, Set<BatchProgress>>();
    try {
      store
          .activeProgress()
          .forEach(
              (key, counts) -> {
                var slash = key.indexOf('/');
                result.put(
                    new ResourceID(key.substring(slash + 1), key.substring(0, slash)),
                    Set.of(new BatchProgress(counts)));
              });
    } catch (SQLException e) {
      // Keep the last known progress; the next poll tries again.
      LOG.warnf("Could not poll batch progress: %s", e.getMessage());
      throw new IllegalStateException(e);
    }
    return result;
  }
}
