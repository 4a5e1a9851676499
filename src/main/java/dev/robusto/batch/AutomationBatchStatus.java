package dev.robusto.batch;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.robusto.operator.ConditionSchema;
import dev.robusto.operator.EnumNames;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What a person running the batch wants to see: where it stands, in numbers and in words. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AutomationBatchStatus {

  @JsonPropertyDescription(
      "Pending, Queued, Running, Throttled (waiting for the daily quota), Suspended"
          + " (spec.suspend), Succeeded, PartiallyFailed or Failed.")
  public Phase phase;

  /** Where a batch stands, as kubectl's Phase column shows it. */
  public enum Phase {
    PENDING,
    QUEUED,
    RUNNING,
    THROTTLED,
    SUSPENDED,
    SUCCEEDED,
    PARTIALLY_FAILED,
    FAILED;

    /** Nothing more will happen unless the spec changes. */
    public boolean finished() {
      return this == SUCCEEDED || this == PARTIALLY_FAILED || this == FAILED;
    }

    @JsonValue
    @Override
    public String toString() {
      return EnumNames.upperCamel(this);
    }
  }

  @JsonPropertyDescription("The spec generation this status reflects.")
  public Long observedGeneration;

  @JsonPropertyDescription(
      "The spec generation whose tickets are in the queue; behind observedGeneration while the"
          + " batch waits for what its tickets need (its merchant, their ConfigMap).")
  public Long ingestedGeneration;

  @JsonPropertyDescription("The Tenant whose namespace this is.")
  public String tenant;

  @JsonPropertyDescription("Tickets by state.")
  public Counts counts;

  @JsonPropertyDescription("Workers this batch holds of the tenant's maxConcurrentJobs.")
  public Integer workers;

  @JsonPropertyDescription("The worker Jobs, newest last.")
  public List<WorkerJob> jobs = new ArrayList<>();

  @JsonPropertyDescription("When the first ticket was admitted (RFC 3339).")
  public String startTime;

  @JsonPropertyDescription("When the last ticket finished (RFC 3339).")
  public String completionTime;

  @JsonPropertyDescription(
      "When throttled: the time (next UTC midnight) the daily quota admits more.")
  public String resumesAt;

  @JsonPropertyDescription("The spec.redriveGeneration last carried out (0: none).")
  public Long redrivenGeneration;

  @JsonPropertyDescription("The last redrive of the batch's dead letters.")
  public Redrive lastRedrive;

  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription(ConditionSchema.DESCRIPTION)
  public List<Condition> conditions = new ArrayList<>();

  /** Tickets by state; total is their sum. */
  public static class Counts {
    @JsonPropertyDescription("All the batch's tickets: the sum of the others.")
    public long total;

    @JsonPropertyDescription("Waiting for the tenant's daily quota.")
    public long throttled;

    @JsonPropertyDescription("Admitted, waiting for a worker (or for their next attempt).")
    public long pending;

    @JsonPropertyDescription("Claimed by a worker now.")
    public long running;

    @JsonPropertyDescription("Processed: the processor accepted them.")
    public long succeeded;

    @JsonPropertyDescription("Failed for good (the processor refused them, like an HTTP 4xx).")
    public long failed;

    @JsonPropertyDescription("Used every attempt; the last error is kept with the ticket.")
    public long deadLettered;

    @JsonPropertyDescription(
        "Taken out of the queue through the batch API while no worker held them (their earlier"
            + " attempts, if any, kept).")
    public long cancelled;
  }

  /** A redrive: which generation, how many dead letters it requeued, when. */
  public static class Redrive {
    @JsonPropertyDescription("The spec.redriveGeneration it carried out.")
    public long generation;

    @JsonPropertyDescription("Dead-lettered tickets it requeued.")
    public long tickets;

    @JsonPropertyDescription("When (RFC 3339).")
    public String time;

    public Redrive() {}

    Redrive(long generation, long tickets, String time) {
      this.generation = generation;
      this.tickets = tickets;
      this.time = time;
    }
  }

  /** One worker Job of the batch. */
  public static class WorkerJob {
    @JsonPropertyDescription("The Job's name.")
    public String name;

    @JsonPropertyDescription("Worker pods the Job runs at once.")
    public int parallelism;

    @JsonPropertyDescription("Its pods running now.")
    public int active;

    @JsonPropertyDescription("Its pods that exited 0 (their batch had nothing left).")
    public int succeeded;

    @JsonPropertyDescription("Its pods that failed.")
    public int failed;

    @JsonPropertyDescription("Running, Complete or Failed.")
    public String state;
  }
}
