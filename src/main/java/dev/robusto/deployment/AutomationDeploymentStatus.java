package dev.robusto.deployment;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.robusto.operator.ConditionSchema;
import dev.robusto.operator.EnumNames;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Where a rollout stands, what the last analysis measured, and what it did about it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AutomationDeploymentStatus {

  @JsonPropertyDescription("The spec generation this status reflects.")
  public Long observedGeneration;

  @JsonPropertyDescription(
      "Progressing (a canary runs its steps), Paused, Healthy (the stable revision runs alone)"
          + " or Degraded (rolled back or aborted).")
  public Phase phase;

  @JsonPropertyDescription("Where the rollout stands, in words.")
  public String message;

  @JsonPropertyDescription("The revision the spec asks for (template and processor).")
  public Integer specRevision;

  @JsonPropertyDescription("The revision that runs when no canary does.")
  public Integer stableRevision;

  @JsonPropertyDescription("The revision being rolled out, while its canary runs.")
  public Integer canaryRevision;

  @JsonPropertyDescription("The stable revision's share of replicas, in percent.")
  public Integer stableWeight;

  @JsonPropertyDescription("The canary's share of replicas, in percent.")
  public Integer canaryWeight;

  @JsonPropertyDescription("The canary step running now, from 0.")
  public Integer currentStepIndex;

  @JsonPropertyDescription("How many steps the canary strategy has.")
  public Integer steps;

  @JsonPropertyDescription("When the current step began (RFC 3339).")
  public String stepStartedAt;

  @JsonPropertyDescription(
      "When the canary first had its weight's pods ready: measurements count from there.")
  public String weightSince;

  @JsonPropertyDescription("Passing measurements in a row at the current analysis step.")
  public Integer passedMeasurements;

  @JsonPropertyDescription("Replicas of each revision, and how many are ready.")
  public Replicas replicas;

  @JsonPropertyDescription("The last measurement of the canary's metrics.")
  public AnalysisRun lastAnalysis;

  @JsonPropertyDescription("Why the spec's revision is not rolled out, in plain words.")
  public String abortReason;

  @JsonPropertyDescription(
      "The spec revision that was aborted or rolled back: not tried again until changed or"
          + " retried.")
  public Integer abortedRevision;

  @JsonPropertyDescription("The revisions kept, with what became of each.")
  public List<Revision> history = new ArrayList<>();

  @JsonPropertyDescription("Every rollback: when, from and to which revision, why, and after.")
  public List<Rollback> rollbacks = new ArrayList<>();

  @JsonPropertyDescription(
      "The last action a person asked for (promote, abort, retry, rollback:N) and when it was"
          + " carried out.")
  public String lastAction;

  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription(ConditionSchema.DESCRIPTION)
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
    @JsonPropertyDescription("The stable revision's replicas.")
    public int stable;

    @JsonPropertyDescription("Of those, ready.")
    public int stableReady;

    @JsonPropertyDescription("The canary's replicas.")
    public int canary;

    @JsonPropertyDescription("Of those, ready.")
    public int canaryReady;
  }

  /** One measurement of every metric. */
  public static class AnalysisRun {
    @JsonPropertyDescription("When it was measured (RFC 3339).")
    public String time;

    @JsonPropertyDescription("The revision measured.")
    public Integer revision;

    @JsonPropertyDescription("Each metric of spec.analysis, as measured.")
    public List<MetricResult> metrics = new ArrayList<>();
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class MetricResult {
    @JsonPropertyDescription("The metric's name in spec.analysis.")
    public String name;

    @JsonPropertyDescription("What was measured; absent when there was no data.")
    public Double value;

    @JsonPropertyDescription("What it is judged against.")
    public Double threshold;

    @JsonPropertyDescription("Pass, Breach, NoData or Error.")
    public Verdict verdict;

    @JsonPropertyDescription("Breaches in a row so far.")
    public int breaches;

    @JsonPropertyDescription("The measurement in words, or why it failed.")
    public String message;
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Revision {
    @JsonPropertyDescription("The revision's number.")
    public int revision;

    @JsonPropertyDescription("The image its pod template runs.")
    public String image;

    @JsonPropertyDescription("When it was recorded (RFC 3339).")
    public String createdAt;

    @JsonPropertyDescription("Stable, Canary, Promoted, RolledBack, Aborted or Superseded.")
    public Outcome outcome;
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Rollback {
    @JsonPropertyDescription("When it was decided (RFC 3339).")
    public String time;

    @JsonPropertyDescription("The revision rolled back.")
    public Integer from;

    @JsonPropertyDescription("The revision rolled back to.")
    public Integer to;

    @JsonPropertyDescription("Why: the breached metric and its value, or the person's action.")
    public String reason;

    @JsonPropertyDescription(
        "When the canary had no pods left and the stable revision all its replicas ready.")
    public String completedAt;

    @JsonPropertyDescription(
        "The stable revision, measured an interval after the rollback: Pending, Healthy,"
            + " Unhealthy or NoData.")
    public StableCheck stableCheck;

    @JsonPropertyDescription("What that measurement found, in words.")
    public String stableCheckMessage;
  }
}
