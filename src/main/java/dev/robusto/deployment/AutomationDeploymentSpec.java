package dev.robusto.deployment;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.robusto.batch.AutomationBatchSpec;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The fleet: its pods ({@code template} and {@code processor}; a change of either is a new
 * revision), how a new revision is rolled out ({@code strategy.canary.steps}) and judged ({@code
 * analysis}), and what else to do on a rollback.
 */
public class AutomationDeploymentSpec {

  static final String DURATION = "^([0-9]+(ms|s|m|h))+$";
  static final String NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

  @Min(0)
  @Max(500)
  @Default("2")
  @JsonPropertyDescription("Worker pods in all, shared between the stable and canary revisions.")
  public Integer replicas = 2;

  @Required
  @JsonPropertyDescription(
      "The worker pods: image, resources, extra env, scheduling. The first container runs the"
          + " worker (its command defaults to the worker's entry point); the operator adds the"
          + " worker's configuration and the tenant's database Secret to its environment.")
  public PodTemplateSpec template;

  @Required
  @ValidationRule(
      value = "!has(self.http) || !has(self.http.merchant)",
      message =
          "a fleet's http processor takes a url; merchants serve a batch's own workers (an"
              + " AutomationBatch's spec.processor.http.merchant)")
  @JsonPropertyDescription(
      "How each ticket is processed: exactly one of http (with a url), command, simulated (as in"
          + " AutomationBatch).")
  public AutomationBatchSpec.Processor processor;

  @Pattern(DURATION)
  @Default("30s")
  @JsonPropertyDescription("How long one attempt may take (http and command processors).")
  public String itemTimeout = "30s";

  @JsonPropertyDescription("Delay between attempts of a ticket: exponential with full jitter.")
  public AutomationBatchSpec.Backoff backoff = new AutomationBatchSpec.Backoff();

  @JsonPropertyDescription("How a new revision is rolled out.")
  public Strategy strategy = new Strategy();

  @JsonPropertyDescription(
      "How a canary is judged. Without metrics, the platform's: errorRate over 0.2 rolls back,"
          + " latencyP95 over 2000 ms warns.")
  public Analysis analysis = new Analysis();

  @Min(1)
  @Max(100)
  @Default("10")
  @JsonPropertyDescription("Old revisions kept (ControllerRevisions) for rollback:N.")
  public Integer revisionHistoryLimit = 10;

  @JsonPropertyDescription("What else a rollback does.")
  public OnRollback onRollback;

  @Default("false")
  @JsonPropertyDescription("Holds a rollout at its current step; analysis and rollback go on.")
  public Boolean paused = false;

  public static class Strategy {
    @JsonPropertyDescription("The canary's steps; without any, the platform's.")
    public Canary canary = new Canary();
  }

  public static class Canary {
    @Size(max = 50)
    @JsonPropertyDescription(
        "In order: setWeight (the canary's share of replicas), pause (for a duration, or until"
            + " promoted), analysis (wait for passing measurements). After the last step the"
            + " canary is promoted. Default: setWeight 25, analysis, setWeight 50, analysis.")
    public List<Step> steps = new ArrayList<>();
  }

  @ValidationRule(
      value =
          "(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.analysis) ? 1 : 0)"
              + " == 1",
      message = "each step is exactly one of setWeight, pause and analysis")
  public static class Step {
    @Min(0)
    @Max(100)
    @JsonPropertyDescription("Percent of replicas that run the canary revision.")
    public Integer setWeight;

    @JsonPropertyDescription("Hold the canary's weight for a while, or until a person promotes.")
    public Pause pause;

    @JsonPropertyDescription(
        "Measure the canary (spec.analysis) until it passes, or roll it back on a breach.")
    public StepAnalysis analysis;

    static Step weight(int percent) {
      var step = new Step();
      step.setWeight = percent;
      return step;
    }

    static Step analysis() {
      var step = new Step();
      step.analysis = new StepAnalysis();
      return step;
    }
  }

  public static class Pause {
    @Pattern(DURATION)
    @JsonPropertyDescription("How long; without it, until a person promotes.")
    public String duration;
  }

  public static class StepAnalysis {
    @Min(1)
    @Max(100)
    @Default("1")
    @JsonPropertyDescription("Passing measurements in a row needed to go on.")
    public Integer measurements = 1;
  }

  public static class Analysis {
    @Pattern(DURATION)
    @Default("30s")
    @JsonPropertyDescription("Time between measurements; each looks at the last interval.")
    public String interval = "30s";

    @Size(max = 20)
    @JsonPropertyDescription(
        "What to measure; each metric is judged on its own threshold. Empty: the platform's"
            + " errorRate and latencyP95.")
    public List<Metric> metrics = new ArrayList<>();
  }

  @ValidationRule(
      value =
          "self.provider == 'prometheus' ? (has(self.query) && !has(self.builtin))"
              + " : (has(self.builtin) && !has(self.query))",
      message =
          "a builtin metric names builtin (errorRate or latencyP95); a prometheus one a query")
  public static class Metric {
    @Required
    @Pattern(NAME)
    @Size(max = 63)
    @JsonPropertyDescription("The metric's name, as status.lastAnalysis reports it.")
    public String name;

    @Default("builtin")
    @Pattern("^(builtin|prometheus)$")
    @JsonPropertyDescription(
        "builtin: the fleet's own attempts per revision, from PostgreSQL; prometheus: a query.")
    public String provider = "builtin";

    @Pattern("^(errorRate|latencyP95)$")
    @JsonPropertyDescription(
        "errorRate: failed attempts over all (0 to 1); latencyP95: milliseconds, of the canary's"
            + " attempts over the last interval.")
    public String builtin;

    @Size(min = 1, max = 4_096)
    @JsonPropertyDescription(
        "PromQL returning one number for the canary; $revision is replaced by its number."
            + " Every selector is confined to the fleet's namespace (the operator adds"
            + " namespace=\"<namespace>\" to it): series of other namespaces are never seen.")
    public String query;

    @Required
    @JsonPropertyDescription("A measurement over this is a breach.")
    public Double threshold;

    @Min(0)
    @Default("0")
    @JsonPropertyDescription("Breaches in a row tolerated; one more acts (see onBreach).")
    public Integer failureLimit = 0;

    @Default("Rollback")
    @Pattern("^(Rollback|Warn)$")
    @JsonPropertyDescription(
        "Rollback, or Warn: a condition and an Event, and the rollout goes on.")
    public String onBreach = "Rollback";

    @Default("Pause")
    @Pattern("^(Pause|Rollback)$")
    @JsonPropertyDescription(
        "No data (no attempts yet, an empty query): Pause holds the rollout until data comes;"
            + " Rollback treats it as a breach.")
    public String onNoData = "Pause";

    @Min(1)
    @Default("5")
    @JsonPropertyDescription("builtin: fewer attempts than this in the interval is no data.")
    public Integer minSamples = 5;
  }

  public static class OnRollback {
    @Size(max = 50)
    @JsonPropertyDescription(
        "FeatureFlags to turn off for this fleet's tenant when a metric rolls it back (for every"
            + " tenant only if the flag lists this tenant in spec.killSwitchTenants).")
    public List<String> disableFlags = new ArrayList<>();
  }
}
