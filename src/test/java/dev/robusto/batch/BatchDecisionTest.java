package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.queue.WorkQueue;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every path of a batch's reconcile decision: ingest, admit, release, throttle, start, grow. */
class BatchDecisionTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      nullValues = "-",
      textBlock =
          """
          # case,                                         fleet, suspended, job state, parallelism, live, workers, move
          a fleet's batch never gets a Job of its own,     true,  false,     -,         -,           40,   0,       FLEET
          a failed Job is reported not replaced,           false, false,     Failed,    3,           40,   3,       REPORT_FAILURE
          tickets and workers and no Job: start,           false, false,     -,         -,           40,   3,       START
          a Job that completed with tickets left: start,   false, false,     Complete,  3,           5,    3,       START
          no worker free (cap in use): throttled,          false, false,     -,         -,           40,   0,       NONE
          nothing admitted (quota used up): nothing to do, false, false,     -,         -,           0,    3,       NONE
          more workers than the Job has: grow,             false, false,     Running,   2,           40,   5,       GROW
          as many as it holds: keep,                       false, false,     Running,   5,           40,   5,       KEEP
          fewer than it has (shrinks as workers exit),     false, false,     Running,   5,           40,   2,       KEEP
          suspended: its running Job drains by itself,     false, true,      Running,   2,           40,   5,       NONE
          suspended: no Job starts however much is left,   false, true,      Complete,  2,           40,   3,       NONE
          a suspended fleet's batch is still the fleet's,  true,  true,      -,         -,           40,   0,       FLEET
          """)
  void theWorkerJobsMove(
      String name,
      boolean fleet,
      boolean suspended,
      String jobState,
      Integer parallelism,
      long live,
      int workers,
      BatchDecision.JobMove move) {
    assertThat(BatchDecision.jobMove(fleet, suspended, jobState, parallelism, live, workers))
        .isEqualTo(move);
  }

  @Test
  void aJobThatEndedGivesItsWorkersBack() {
    assertThat(BatchDecision.releasesWorkers("Complete")).isTrue();
    assertThat(BatchDecision.releasesWorkers("Failed")).isTrue();
    assertThat(BatchDecision.releasesWorkers("Running")).isFalse();
    assertThat(BatchDecision.releasesWorkers(null)).isFalse();
  }

  @Test
  void heldTicketsAskForTodaysQuota() {
    assertThat(BatchDecision.admits(counts(3, 0))).isTrue();
    assertThat(BatchDecision.admits(counts(0, 7))).isFalse();
  }

  @Test
  void ticketsHeldForTomorrowResumeJustAfterMidnightUtc() {
    var lateNight = Instant.parse("2026-12-03T23:59:59Z");
    assertThat(BatchDecision.resumesAt(lateNight)).isEqualTo(Instant.parse("2026-12-04T00:00:00Z"));
    assertThat(BatchDecision.wakeUp(counts(3, 0), lateNight)).contains(Duration.ofSeconds(2));
    var midnight = Instant.parse("2026-12-04T00:00:00Z");
    assertThat(BatchDecision.resumesAt(midnight))
        .as("at midnight itself, the next one")
        .isEqualTo(Instant.parse("2026-12-05T00:00:00Z"));
    assertThat(BatchDecision.wakeUp(counts(0, 5), lateNight))
        .as("nothing held: Job and progress events bring it back")
        .isEmpty();
  }

  @Test
  void aBatchReadsItsTicketsOncePerGenerationAndIsFinishedOnlyThen() {
    var batch = batch(2L);
    assertThat(BatchDecision.needsIngest(batch)).as("no status yet").isTrue();
    batch.setStatus(new AutomationBatchStatus());
    batch.getStatus().observedGeneration = 2L;
    assertThat(BatchDecision.needsIngest(batch)).as("no counts yet").isTrue();
    batch.getStatus().counts = new AutomationBatchStatus.Counts();
    batch.getStatus().phase = AutomationBatchStatus.Phase.SUCCEEDED;
    assertThat(BatchDecision.needsIngest(batch)).isFalse();
    assertThat(BatchDecision.finished(batch)).isTrue();
    batch.getMetadata().setGeneration(3L);
    assertThat(BatchDecision.needsIngest(batch)).as("a new generation's tickets").isTrue();
    assertThat(BatchDecision.finished(batch)).as("a finished batch edited runs again").isFalse();
  }

  @Test
  void aBatchWaitingForItsTicketsDoesNotClaimToHaveReadThem() {
    var batch = batch(2L);
    batch.setStatus(new AutomationBatchStatus());
    batch.getStatus().observedGeneration = 1L;
    batch.getStatus().counts = new AutomationBatchStatus.Counts();
    var pending =
        BatchStatusAggregator.pending(batch, "acme", "ItemsNotFound", "ConfigMap x not found.");
    batch.setStatus(pending);
    assertThat(BatchDecision.needsIngest(batch))
        .as("the ConfigMap created later is still read")
        .isTrue();
    assertThat(pending.observedGeneration)
        .as("observed, so Flux reads its conditions: Stalled or waiting")
        .isEqualTo(2L);
    assertThat(pending.ingestedGeneration).as("generation 1's tickets are queued").isEqualTo(1L);
    // Again, and with a status this version wrote: still read.
    batch.setStatus(
        BatchStatusAggregator.pending(batch, "acme", "ItemsNotFound", "ConfigMap x not found."));
    assertThat(BatchDecision.needsIngest(batch)).isTrue();
  }

  private static WorkQueue.Counts counts(long held, long pending) {
    return new WorkQueue.Counts(held, pending, 0, 0, 0, 0);
  }

  private static AutomationBatch batch(long generation) {
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder()
            .withName("lote")
            .withNamespace("tenant-acme")
            .withGeneration(generation)
            .build());
    batch.setSpec(new AutomationBatchSpec());
    return batch;
  }
}
