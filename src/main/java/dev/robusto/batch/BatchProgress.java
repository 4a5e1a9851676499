package dev.robusto.batch;

import io.javaoperatorsdk.operator.processing.ResourceIDMapper;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.polling.PollingConfigurationBuilder;
import io.javaoperatorsdk.operator.processing.event.source.polling.PollingEventSource;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The progress of every active batch, polled from PostgreSQL in one query: a batch is reconciled
 * when its counts, or the workers it holds, changed since the last poll, and not otherwise.
 */
record BatchProgress(BatchStore.Progress progress) {

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
              (key, progress) -> {
                var slash = key.indexOf('/');
                result.put(
                    new ResourceID(key.substring(slash + 1), key.substring(0, slash)),
                    Set.of(new BatchProgress(progress)));
              });
    } catch (SQLException e) {
      // The source logs it, keeps the last progress and reports unhealthy until a poll succeeds.
      throw new IllegalStateException("Could not poll batch progress: " + e.getMessage(), e);
    }
    return result;
  }
}
