package dev.robusto.batch;

import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Shares a tenant's concurrency cap among its active batches: most urgent first, then oldest. A
 * batch wants as many workers as its parallelism, but no more than it has items left. Workers
 * already granted are never taken back (their pods may be mid-item); a batch gives its workers back
 * when its Job is done. So the sum never exceeds the cap, and freed capacity goes to the most
 * urgent waiting batch.
 */
public final class WorkerAllocation {

  /** One active batch: what it wants and what it holds. */
  public record Demand(
      UUID batchId, int priorityRank, Instant createdAt, int parallelism, long live, int held) {

    int wanted() {
      return (int) Math.min(parallelism, live);
    }
  }

  private WorkerAllocation() {}

  /** The workers each batch holds after the grant. */
  public static Map<UUID, Integer> allocate(List<Demand> demands, int cap) {
    var result = new HashMap<UUID, Integer>();
    var free = cap;
    for (var d : demands) {
      result.put(d.batchId(), d.held());
      free -= d.held();
    }
    var order =
        demands.stream()
            .sorted(Comparator.comparingInt(Demand::priorityRank).thenComparing(Demand::createdAt))
            .toList();
    for (var d : order) {
      var grant = Math.max(0, Math.min(d.wanted() - d.held(), free));
      result.put(d.batchId(), d.held() + grant);
      free -= grant;
    }
    return result;
  }
}
