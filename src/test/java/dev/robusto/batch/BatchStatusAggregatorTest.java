package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.queue.WorkQueue.Counts;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BatchStatusAggregatorTest {

  private static final Instant NOW = Instant.parse("2026-11-30T23:10:00Z");
  private static final Instant MIDNIGHT = Instant.parse("2026-12-01T00:00:00Z");

  @Test
  void theSeedsMonthEndCaseIsPartiallyFailed() {
    var status = BatchStatusAggregator.of(batch(), facts(new Counts(0, 0, 0, 450, 50, 0), null));
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.PARTIALLY_FAILED);
    assertThat(status.counts.total).isEqualTo(500);
    assertThat(ready(status).getMessage())
        .isEqualTo("450 of 500 tickets succeeded, 50 failed, 0 dead-lettered.");
    assertThat(status.completionTime).isEqualTo(NOW.toString());
  }

  @Test
  void theBatchIsNotFinishedWhileItsWorkersAreStillExiting() {
    var job = new AutomationBatchStatus.WorkerJob();
    job.name = "fin-de-mes-1";
    job.state = "Running";
    job.active = 2;
    var status = BatchStatusAggregator.of(batch(), facts(new Counts(0, 0, 0, 10, 0, 0), job));
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.RUNNING);
    assertThat(ready(status).getMessage())
        .isEqualTo("Every admitted ticket is finished; 2 workers are exiting.");
  }

  @Test
  void heldTicketsSayWhenTheyResume() {
    var status = BatchStatusAggregator.of(batch(), facts(new Counts(50, 0, 0, 100, 0, 0), null));
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.THROTTLED);
    assertThat(status.resumesAt).isEqualTo(MIDNIGHT.toString());
    assertThat(status.conditions)
        .filteredOn(c -> c.getType().equals("Throttled"))
        .singleElement()
        .extracting(Condition::getMessage)
        .isEqualTo(
            "50 tickets wait for tenant acme's daily quota (maxDailyJobs 150, all admitted"
                + " today); they resume at 2026-12-01T00:00:00Z.");
  }

  @Test
  void aBatchWithoutWorkersSaysWhoHasThem() {
    var status = BatchStatusAggregator.of(batch(), facts(new Counts(0, 100, 0, 0, 0, 0), null));
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.QUEUED);
    assertThat(ready(status).getReason()).isEqualTo("ConcurrencyLimit");
  }

  @Test
  void aBatchHandedToAFleetRunsWithoutWorkersOfItsOwn() {
    var facts =
        new BatchStatusAggregator.Facts(
            "acme",
            new Counts(0, 40, 2, 8, 0, 0),
            0,
            2,
            150,
            false,
            "portal-workers",
            null,
            null,
            MIDNIGHT,
            NOW,
            BatchStatusAggregator.Control.NONE);
    var status = BatchStatusAggregator.of(batch(), facts);
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.RUNNING);
    assertThat(ready(status).getReason()).isEqualTo("HandedToFleet");
    assertThat(ready(status).getMessage())
        .isEqualTo(
            "The fleet of AutomationDeployment portal-workers processes the tickets; 40 pending,"
                + " 2 running.");
  }

  @Test
  void aSuspendedBatchSaysWhatWaitsAndHowToResume() {
    var draining = new AutomationBatchStatus.WorkerJob();
    draining.name = "fin-de-mes-1";
    draining.parallelism = 2;
    draining.active = 2;
    draining.state = "Running";
    var facts =
        new BatchStatusAggregator.Facts(
            "acme",
            new Counts(5, 30, 2, 10, 0, 0),
            2,
            2,
            150,
            false,
            null,
            draining,
            null,
            MIDNIGHT,
            NOW,
            new BatchStatusAggregator.Control(true, 0, null));
    var status = BatchStatusAggregator.of(batch(), facts);
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.SUSPENDED);
    assertThat(status.phase.finished()).isFalse();
    assertThat(ready(status).getReason()).isEqualTo("Suspended");
    assertThat(ready(status).getMessage())
        .isEqualTo(
            "spec.suspend is true: no worker claims the batch's tickets (30 pending, 5 not yet"
                + " admitted; 2 workers finish the tickets they hold, then exit). Set"
                + " spec.suspend to false to resume.");
    assertThat(status.conditions)
        .filteredOn(c -> c.getType().equals("Throttled"))
        .singleElement()
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("Suspended"));
    assertThat(status.resumesAt).isNull();
  }

  @Test
  void aBatchWhoseTicketsWereAllCancelledSaysSo() {
    var status =
        BatchStatusAggregator.of(batch(), facts(new Counts(0, 0, 0, 0, 0, 0, 12, 0), null));
    assertThat(status.phase.finished()).isTrue();
    assertThat(ready(status).getReason()).isEqualTo("Cancelled");
    assertThat(ready(status).getMessage())
        .isEqualTo("0 of 12 tickets succeeded, 0 failed, 0 dead-lettered, 12 cancelled.");
    assertThat(status.counts.cancelled).isEqualTo(12);
  }

  @Test
  void aRedrivenBatchIsNoLongerCompleteAndSaysWhatWasRequeued() {
    var finished = batch();
    finished.setStatus(
        BatchStatusAggregator.of(batch(), facts(new Counts(0, 0, 0, 45, 0, 5), null)));
    assertThat(finished.getStatus().completionTime).isNotNull();
    var redrive = new AutomationBatchStatus.Redrive(1, 5, NOW.toString());
    var facts =
        facts(
            new Counts(0, 5, 0, 45, 0, 0),
            null,
            new BatchStatusAggregator.Control(false, 1, redrive));
    var status = BatchStatusAggregator.of(finished, facts);
    assertThat(status.phase.finished()).isFalse();
    assertThat(status.completionTime).isNull();
    assertThat(status.redrivenGeneration).isEqualTo(1L);
    assertThat(status.lastRedrive.tickets).isEqualTo(5);
  }

  @Test
  void aBatchWithNoTicketSucceededStallsUntilRedrivenAndOneThatDidDoesNot() {
    var failed = batch();
    failed.setStatus(BatchStatusAggregator.of(batch(), facts(new Counts(0, 0, 0, 0, 0, 8), null)));
    assertThat(failed.getStatus().phase).isEqualTo(AutomationBatchStatus.Phase.FAILED);
    assertThat(stalled(failed.getStatus()))
        .hasValueSatisfying(
            c ->
                assertThat(c.getMessage())
                    .isEqualTo(
                        "0 of 8 tickets succeeded, 0 failed, 8 dead-lettered. No ticket"
                            + " succeeded: once the cause in the dead letters' last errors is"
                            + " fixed, raise spec.redriveGeneration to send the 8 again."));

    var redriven =
        facts(
            new Counts(0, 8, 0, 0, 0, 0),
            null,
            new BatchStatusAggregator.Control(
                false, 1, new AutomationBatchStatus.Redrive(1, 8, NOW.toString())));
    assertThat(stalled(BatchStatusAggregator.of(failed, redriven))).isEmpty();
    assertThat(
            stalled(
                BatchStatusAggregator.of(batch(), facts(new Counts(0, 0, 0, 450, 50, 0), null))))
        .isEmpty();
  }

  @Test
  void aBatchThatCannotStartStallsWithWhatToDoUnlessWhatItWaitsForMayStillBeApplied() {
    var status =
        BatchStatusAggregator.pending(
            batch(), "acme", "InvalidItems", "items.json of ConfigMap t is not a JSON array.");
    assertThat(status.phase).isEqualTo(AutomationBatchStatus.Phase.PENDING);
    assertThat(stalled(status))
        .hasValueSatisfying(
            c -> {
              assertThat(c.getReason()).isEqualTo("InvalidItems");
              assertThat(c.getMessage())
                  .isEqualTo("items.json of ConfigMap t is not a JSON array.");
            });
    // A Merchant sorts after an AutomationBatch in a sync: it may arrive a moment later.
    assertThat(
            stalled(
                BatchStatusAggregator.pending(
                    batch(), "acme", "MerchantNotFound", "Merchant oxxo does not exist.")))
        .isEmpty();
  }

  private static java.util.Optional<Condition> stalled(AutomationBatchStatus status) {
    return status.conditions.stream()
        .filter(c -> c.getType().equals("Stalled") && c.getStatus().equals("True"))
        .findFirst();
  }

  private static BatchStatusAggregator.Facts facts(
      Counts counts, AutomationBatchStatus.WorkerJob job) {
    return facts(counts, job, BatchStatusAggregator.Control.NONE);
  }

  private static BatchStatusAggregator.Facts facts(
      Counts counts, AutomationBatchStatus.WorkerJob job, BatchStatusAggregator.Control control) {
    return new BatchStatusAggregator.Facts(
        "acme", counts, 0, 2, 150, false, null, job, null, MIDNIGHT, NOW, control);
  }

  private static AutomationBatch batch() {
    var batch = new AutomationBatch();
    batch.setMetadata(new ObjectMetaBuilder().withName("fin-de-mes").withGeneration(1L).build());
    return batch;
  }

  private static Condition ready(AutomationBatchStatus status) {
    return status.conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst().get();
  }
}
