package dev.robusto.batch;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.robusto.operator.EnumNames;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What a person running the batch wants to see: where it stands, in numbers and in words. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AutomationBatchStatus {

  public Phase phase;

  /** Where a batch stands, as kubectl's Phase column shows it. */
  public enum Phase {
    PENDING,
    QUEUED,
    RUNNING,
    THROTTLED,
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

  public Long observedGeneration;

  /** The Tenant whose namespace this is. */
  public String tenant;

  public Counts counts;

  /** Workers this batch holds of the tenant's maxConcurrentJobs. */
  public Integer workers;

  /** The worker Jobs, newest last. */
  public List<WorkerJob> jobs = new ArrayList<>();

  public String startTime;
  public String completionTime;

  /** When throttled: the time (next UTC midnight) the daily quota admits more. */
  public String resumesAt;

  public List<Condition> conditions = new ArrayList<>();

  /** Tickets by state; total is their sum. */
  public static class Counts {
    public long total;

    /** Waiting for the tenant's daily quota. */
    public long throttled;

    /** Admitted, waiting for a worker (or for their next attempt). */
    public long pending;

    public long running;
    public long succeeded;

    /** Failed for good (the processor refused them, like an HTTP 4xx). */
    public long failed;

    /** Used every attempt; the last error is kept with the item. */
    public long deadLettered;
  }

  /** One worker Job of the batch. */
  public static class WorkerJob {
    public String name;
    public int parallelism;
    public int active;
    public int succeeded;
    public int failed;

    /** Running, Complete or Failed. */
    public String state;
  }
}
