package dev.robusto.deployment;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.robusto.operator.EnumNames;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Where a rollout stands, what the last analysis measured, and what it did about it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AutomationDeploymentStatus {

  public Long observedGeneration;

  public Phase phase;

  public String message;

  /** The revision the spec asks for (template and processor). */
  public Integer specRevision;

  public Integer stableRevision;
  public Integer canaryRevision;

  /** Share of replicas, in percent, each revision runs. */
  public Integer stableWeight;

  public Integer canaryWeight;

  public Integer currentStepIndex;
  public Integer steps;
  public String stepStartedAt;

  /** When the canary first had its weight's pods ready: measurements count from there. */
  public String weightSince;

  /** Passing measurements in a row at the current analysis step. */
  public Integer passedMeasurements;

  public Replicas replicas;
  public AnalysisRun lastAnalysis;

  /** Why the spec's revision is not rolled out, in plain words. */
  public String abortReason;

  /**
   * The spec revision that was aborted or rolled back: not tried again until changed or retried.
   */
  public Integer abortedRevision;

  public List<Revision> history = new ArrayList<>();
  public List<Rollback> rollbacks = new ArrayList<>();
  public String lastAction;
  public List<Condition> conditions = new ArrayList<>();

  /** Where a fleet stands, as kubectl's Phase column shows it. */
  public enum Phase {
    PROGRESSING,
    PAUSED,
    HEALTHY,
    DEGRADED;

    @JsonValue
    @Override
    public String toString() {
      return EnumNames.upperCamel(this);
    }
  }

  /** What one metric's measurement says. */
  public enum Verdict {
    PASS,
    BREACH,
    NO_DATA,
    ERROR;

    @JsonValue
    @Override
    public String toString() {
      return EnumNames.upperCamel(this);
    }
  }

  /** What became of a revision. */
  public enum Outcome {
    STABLE,
    CANARY,
    PROMOTED,
    ROLLED_BACK,
    ABORTED,
    SUPERSEDED;

    @JsonValue
    @Override
    public String toString() {
      return EnumNames.upperCamel(this);
    }
  }

  /** The check of the stable revision after a rollback. */
  public enum StableCheck {
    PENDING,
    HEALTHY,
    UNHEALTHY,
    NO_DATA;

    @JsonValue
    @Override
    public String toString() {
      return EnumNames.upperCamel(this);
    }
  }

  public static class Replicas {
    public int stable;
    public int stableReady;
    public int canary;
    public int canaryReady;
  }

  /** One measurement of every metric. */
  public static class AnalysisRun {
    public String time;
    public Integer revision;
    public List<MetricResult> metrics = new ArrayList<>();
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class MetricResult {
    public String name;

    /** Null when there was no data. */
    public Double value;

    public Double threshold;

    public Verdict verdict;

    /** Breaches in a row so far. */
    public int breaches;

    public String message;
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Revision {
    public int revision;
    public String image;
    public String createdAt;

    public Outcome outcome;
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Rollback {
    public String time;
    public Integer from;
    public Integer to;
    public String reason;

    /** When the canary had no pods left and the stable revision all its replicas ready. */
    public String completedAt;

    /** The stable revision, measured an interval after the rollback. */
    public StableCheck stableCheck;

    public String stableCheckMessage;
  }
}
