package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.batch.WorkerAllocation.Demand;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class WorkerAllocationTest {

  private static final Instant T0 = Instant.parse("2026-11-30T10:00:00Z");
  private final UUID baja = UUID.randomUUID();
  private final UUID urgente = UUID.randomUUID();
  private final UUID normal = UUID.randomUUID();

  @Test
  void freedCapacityGoesToTheMostUrgentThenTheOldest() {
    var result =
        WorkerAllocation.allocate(
            List.of(
                new Demand(baja, 3, T0, 5, 100, 0),
                new Demand(normal, 2, T0.plusSeconds(1), 5, 100, 0),
                new Demand(urgente, 0, T0.plusSeconds(2), 2, 100, 0)),
            3);
    assertThat(result).isEqualTo(Map.of(urgente, 2, normal, 1, baja, 0));
  }

  @Test
  void workersAlreadyGrantedAreNeverTakenBackSoTheCapHolds() {
    var result =
        WorkerAllocation.allocate(
            List.of(new Demand(baja, 3, T0, 5, 100, 3), new Demand(urgente, 0, T0, 5, 100, 0)), 3);
    assertThat(result).isEqualTo(Map.of(baja, 3, urgente, 0));
  }

  @Test
  void aBatchWantsNoMoreWorkersThanItHasItemsLeft() {
    var result = WorkerAllocation.allocate(List.of(new Demand(normal, 2, T0, 20, 3, 0)), 20);
    assertThat(result).isEqualTo(Map.of(normal, 3));
  }

  @Test
  void aLoweredCapGrantsNothingNewUntilWorkersComeBack() {
    var result =
        WorkerAllocation.allocate(
            List.of(new Demand(baja, 3, T0, 5, 100, 4), new Demand(normal, 2, T0, 5, 100, 0)), 2);
    assertThat(result).isEqualTo(Map.of(baja, 4, normal, 0));
  }
}
