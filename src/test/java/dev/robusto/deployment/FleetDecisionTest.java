package dev.robusto.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.deployment.AutomationDeploymentStatus.AnalysisRun;
import dev.robusto.deployment.AutomationDeploymentStatus.MetricResult;
import dev.robusto.deployment.AutomationDeploymentStatus.Verdict;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every path of a rollout decision, one row each: a fleet of 4 replicas with the default steps (25
 * %, analysis, 50 %, analysis) and a 30 s interval, a status, the facts a reconcile gathered, and
 * what the plan must say. What only a real cluster shows stays in {@code AutomationDeploymentIT}.
 */
class FleetDecisionTest {

  private static final Instant NOW = Instant.parse("2026-12-03T10:00:00Z");

  /** What a row expects of the plan; null fields are not checked. */
  record Expect(
      String phase,
      Integer stable,
      Integer canary,
      Integer canaryWeight,
      Map<Integer, Integer> replicas,
      List<String> events,
      List<String> rollbackTriggers,
      List<String> flagsOff) {}

  record Row(String name, Given given, Expect expect, Consumer<FleetPlan> more) {
    @Override
    public String toString() {
      return name;
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void decides(Row row) {
    var plan = row.given().decide();
    var status = plan.status();
    var expect = row.expect();
    assertThat(String.valueOf(status.phase)).as("phase").isEqualTo(expect.phase());
    assertThat(status.stableRevision).as("stable revision").isEqualTo(expect.stable());
    assertThat(status.canaryRevision).as("canary revision").isEqualTo(expect.canary());
    assertThat(status.canaryWeight).as("canary weight").isEqualTo(expect.canaryWeight());
    assertThat(plan.replicas()).as("replicas by revision").isEqualTo(expect.replicas());
    assertThat(plan.events().stream().map(FleetPlan.Event::reason).toList())
        .as("events")
        .isEqualTo(expect.events());
    assertThat(plan.rollbackTriggers())
        .as("rollbacks counted")
        .isEqualTo(expect.rollbackTriggers());
    assertThat(plan.flagsToTurnOff()).as("flags turned off").isEqualTo(expect.flagsOff());
    assertThat(plan.obeyedAction()).as("action to remove").isEqualTo(row.given().action);
    row.more().accept(plan);
  }

  static Stream<Row> rows() {
    return Stream.of(
        new Row(
            "the first revision goes straight to stable",
            new Given(null, 1),
            new Expect("Progressing", 1, null, 0, Map.of(1, 4), List.of(), List.of(), List.of()),
            plan ->
                assertThat(plan.status().history)
                    .extracting(r -> r.outcome.toString())
                    .containsExactly("Stable")),
        new Row(
            "a new revision starts its canary at the first weight",
            new Given(healthy(), 2).pods(1, 4, 4),
            new Expect(
                "Progressing",
                1,
                2,
                25,
                Map.of(1, 3, 2, 1),
                List.of("CanaryStarted"),
                List.of(),
                List.of()),
            plan -> {
              assertThat(plan.status().currentStepIndex).isZero();
              assertThat(plan.wakeUp()).isEqualTo(Duration.ofSeconds(2));
            }),
        new Row(
            "a weight step is done once both revisions' pods are ready",
            new Given(canary(0, 25), 2).pods(1, 3, 3).pods(2, 1, 1),
            new Expect(
                "Progressing", 1, 2, 25, Map.of(1, 3, 2, 1), List.of(), List.of(), List.of()),
            plan -> {
              assertThat(plan.status().currentStepIndex).isEqualTo(1);
              assertThat(plan.status().weightSince)
                  .as("measured from now on")
                  .isEqualTo(NOW.toString());
            }),
        new Row(
            "no measurement before an interval since the weight",
            new Given(canary(1, 25).since(25), 2).pods(1, 3, 3).pods(2, 1, 1),
            new Expect(
                "Progressing", 1, 2, 25, Map.of(1, 3, 2, 1), List.of(), List.of(), List.of()),
            plan -> {
              assertThat(plan.status().currentStepIndex).isEqualTo(1);
              assertThat(plan.wakeUp()).isEqualTo(Duration.ofSeconds(5));
            }),
        new Row(
            "a passing measurement completes the analysis step and sets the next weight",
            new Given(canary(1, 25).since(31), 2).pods(1, 3, 3).pods(2, 1, 1).canaryRun(pass(2)),
            new Expect(
                "Progressing", 1, 2, 50, Map.of(1, 2, 2, 2), List.of(), List.of(), List.of()),
            plan -> {
              assertThat(plan.status().currentStepIndex).isEqualTo(2);
              assertThat(plan.status().lastAnalysis.revision).isEqualTo(2);
            }),
        new Row(
            "a due measurement not taken in this reconcile is taken by the next, soon",
            new Given(canary(1, 25).since(31), 2).pods(1, 3, 3).pods(2, 1, 1),
            new Expect(
                "Progressing", 1, 2, 25, Map.of(1, 3, 2, 1), List.of(), List.of(), List.of()),
            plan -> assertThat(plan.wakeUp()).isEqualTo(Duration.ofSeconds(1))),
        new Row(
            "a breach rolls back at once and turns off the listed flags",
            new Given(canary(1, 25).since(31), 2)
                .disableFlags("checkout-v2")
                .pods(1, 3, 3)
                .pods(2, 1, 1)
                .canaryRun(breach(2, "error-rate", 0.41)),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("RolledBack"),
                List.of("metric"),
                List.of("checkout-v2")),
            plan -> {
              assertThat(plan.status().abortedRevision).isEqualTo(2);
              assertThat(plan.status().abortReason)
                  .startsWith("error-rate of revision 2 was 0.410");
              assertThat(plan.status().rollbacks)
                  .singleElement()
                  .satisfies(
                      r ->
                          assertThat(r.stableCheck)
                              .isEqualTo(AutomationDeploymentStatus.StableCheck.PENDING));
              assertThat(plan.rollbackReason()).isEqualTo(plan.status().abortReason);
              assertThat(plan.changes())
                  .containsExactly(new FleetPlan.Change("canary=2", "stable=1"));
            }),
        new Row(
            "a metric that only warns says so once and the rollout goes on",
            new Given(canary(1, 25).since(31), 2)
                .pods(1, 3, 3)
                .pods(2, 1, 1)
                .canaryRun(breach(2, "latency-p95", 2500.0)),
            new Expect(
                "Progressing",
                1,
                2,
                50,
                Map.of(1, 2, 2, 2),
                List.of("MetricWarning"),
                List.of(),
                List.of()),
            plan ->
                assertThat(plan.status().conditions)
                    .anySatisfy(
                        c -> {
                          assertThat(c.getType()).isEqualTo("MetricWarning");
                          assertThat(c.getReason()).isEqualTo("Breached");
                        })),
        new Row(
            "a warning already shown is not announced again",
            new Given(canary(1, 25).since(31).warned(), 2)
                .pods(1, 3, 3)
                .pods(2, 1, 1)
                .canaryRun(breach(2, "latency-p95", 2500.0)),
            new Expect(
                "Progressing", 1, 2, 50, Map.of(1, 2, 2, 2), List.of(), List.of(), List.of()),
            plan -> {}),
        new Row(
            "no data holds the canary where it is and says why",
            new Given(canary(1, 25).since(31), 2).pods(1, 3, 3).pods(2, 1, 1).canaryRun(noData(2)),
            new Expect("Paused", 1, 2, 25, Map.of(1, 3, 2, 1), List.of(), List.of(), List.of()),
            plan -> {
              assertThat(plan.status().message)
                  .startsWith("Waiting for data before going on. error-rate:");
              assertThat(plan.status().currentStepIndex).isEqualTo(1);
            }),
        new Row(
            "spec.paused holds the steps",
            new Given(canary(1, 25).since(31), 2)
                .paused()
                .pods(1, 3, 3)
                .pods(2, 1, 1)
                .canaryRun(pass(2)),
            new Expect("Paused", 1, 2, 25, Map.of(1, 3, 2, 1), List.of(), List.of(), List.of()),
            plan -> assertThat(plan.status().message).startsWith("Paused by spec.paused")),
        new Row(
            "spec.paused does not stop a rollback",
            new Given(canary(1, 25).since(31), 2)
                .paused()
                .pods(1, 3, 3)
                .pods(2, 1, 1)
                .canaryRun(breach(2, "error-rate", 0.5)),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("RolledBack"),
                List.of("metric"),
                List.of()),
            plan -> {}),
        new Row(
            "a pause step without a duration waits for a person",
            new Given(canary(1, 50), 2).steps(weight(50), pause(null)).pods(1, 2, 2).pods(2, 2, 2),
            new Expect("Paused", 1, 2, 50, Map.of(1, 2, 2, 2), List.of(), List.of(), List.of()),
            plan -> assertThat(plan.status().message).contains("robusto.dev/action=promote")),
        new Row(
            "a pause step with a duration waits it out",
            new Given(canary(1, 50).stepStarted(30), 2)
                .steps(weight(50), pause("1m"))
                .pods(1, 2, 2)
                .pods(2, 2, 2),
            new Expect(
                "Progressing", 1, 2, 50, Map.of(1, 2, 2, 2), List.of(), List.of(), List.of()),
            plan -> assertThat(plan.wakeUp()).isEqualTo(Duration.ofSeconds(15))),
        new Row(
            "a due measurement a person's action kept from being taken holds the steps",
            new Given(canary(1, 50).stepStarted(61).since(31), 2)
                .steps(weight(50), pause("1m"))
                .action("retry")
                .pods(1, 2, 2)
                .pods(2, 2, 2),
            new Expect(
                "Progressing",
                1,
                2,
                50,
                Map.of(1, 2, 2, 2),
                List.of("Action"),
                List.of(),
                List.of()),
            plan -> {
              assertThat(plan.status().currentStepIndex).as("not promoted unmeasured").isEqualTo(1);
              assertThat(plan.wakeUp()).isEqualTo(Duration.ofSeconds(1));
            }),
        new Row(
            "the last step done promotes the canary",
            new Given(canary(1, 50).stepStarted(61), 2)
                .steps(weight(50), pause("1m"))
                .pods(1, 2, 2)
                .pods(2, 2, 2),
            new Expect(
                "Progressing", 2, null, 0, Map.of(2, 4), List.of("Promoted"), List.of(), List.of()),
            plan ->
                assertThat(plan.status().history)
                    .extracting(r -> r.revision + ":" + r.outcome)
                    .containsExactly("1:Superseded", "2:Promoted")),
        new Row(
            "promote skips the remaining steps",
            new Given(canary(1, 25), 2).action("promote").pods(1, 3, 3).pods(2, 1, 1),
            new Expect(
                "Progressing", 2, null, 0, Map.of(2, 4), List.of("Action"), List.of(), List.of()),
            plan ->
                assertThat(plan.status().lastAction)
                    .isEqualTo(
                        "promote at "
                            + NOW
                            + ": revision 2 promoted by request, skipping its remaining steps and analysis.")),
        new Row(
            "abort rolls the canary back, counted as a person's",
            new Given(canary(1, 25), 2).action("abort").pods(1, 3, 3).pods(2, 1, 1),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("Aborted", "Action"),
                List.of("person"),
                List.of()),
            plan ->
                assertThat(plan.status().abortReason).isEqualTo("Aborted by request at step 2.")),
        new Row(
            "abort without a canary does nothing and says so",
            new Given(healthy(), 1).action("abort").pods(1, 4, 4),
            new Expect(
                "Healthy", 1, null, 0, Map.of(1, 4), List.of("Action"), List.of(), List.of()),
            plan ->
                assertThat(plan.status().lastAction)
                    .endsWith("nothing to abort: no canary is running.")),
        new Row(
            "retry starts a stopped revision's steps again",
            new Given(healthy().aborted(2), 2).action("retry").pods(1, 4, 4),
            new Expect(
                "Progressing",
                1,
                2,
                25,
                Map.of(1, 3, 2, 1),
                List.of("Action", "CanaryStarted"),
                List.of(),
                List.of()),
            plan -> assertThat(plan.status().abortedRevision).isNull()),
        new Row(
            "retry of a revision not stopped does nothing",
            new Given(canary(1, 25), 2).action("retry").pods(1, 3, 3).pods(2, 1, 1),
            new Expect(
                "Progressing",
                1,
                2,
                25,
                Map.of(1, 3, 2, 1),
                List.of("Action"),
                List.of(),
                List.of()),
            plan ->
                assertThat(plan.status().lastAction)
                    .endsWith("nothing to retry: revision 2 was not stopped.")),
        new Row(
            "rollback:N makes a kept revision stable at once and holds the spec's",
            new Given(healthy().stable(2), 2).kept(1, 2).action("rollback:1").pods(2, 4, 4),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("Action"),
                List.of("person"),
                List.of()),
            plan -> {
              assertThat(plan.status().abortedRevision).isEqualTo(2);
              assertThat(plan.status().rollbacks)
                  .singleElement()
                  .satisfies(r -> assertThat(r.from + "->" + r.to).isEqualTo("2->1"));
            }),
        new Row(
            "rollback:N to a revision not kept is refused with the ones kept",
            new Given(healthy(), 1).kept(1, 2).action("rollback:7").pods(1, 4, 4),
            new Expect(
                "Healthy", 1, null, 0, Map.of(1, 4), List.of("Action"), List.of(), List.of()),
            plan ->
                assertThat(plan.status().lastAction)
                    .endsWith(": refused: no revision 7 is kept (kept: [1, 2]).")),
        new Row(
            "an unknown action says which exist",
            new Given(healthy(), 1).action("rollforward").pods(1, 4, 4),
            new Expect(
                "Healthy", 1, null, 0, Map.of(1, 4), List.of("Action"), List.of(), List.of()),
            plan ->
                assertThat(plan.status().lastAction)
                    .endsWith("use promote, abort, retry or rollback:<revision>.")),
        new Row(
            "a spec back at the stable revision drops the canary",
            new Given(canary(1, 25), 1).pods(1, 3, 3).pods(2, 1, 1),
            new Expect("Progressing", 1, null, 0, Map.of(1, 4), List.of(), List.of(), List.of()),
            plan ->
                assertThat(plan.status().history)
                    .extracting(r -> r.revision + ":" + r.outcome)
                    .contains("2:Superseded")),
        new Row(
            "a rollback completes when the canary has no pods and the stable all",
            new Given(healthy().rolledBack(5, null), 2).pods(1, 4, 4),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("RollbackComplete"),
                List.of(),
                List.of()),
            plan ->
                assertThat(plan.status().rollbacks.get(0).completedAt).isEqualTo(NOW.toString())),
        new Row(
            "an interval after a rollback the stable revision is found healthy",
            new Given(healthy().rolledBack(31, "done"), 2).pods(1, 4, 4).stableRun(pass(1)),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("StableHealthy"),
                List.of(),
                List.of()),
            plan ->
                assertThat(plan.status().rollbacks.get(0).stableCheck)
                    .isEqualTo(AutomationDeploymentStatus.StableCheck.HEALTHY)),
        new Row(
            "an interval after a rollback the stable revision is found unhealthy too",
            new Given(healthy().rolledBack(31, "done"), 2)
                .pods(1, 4, 4)
                .stableRun(breach(1, "error-rate", 0.3)),
            new Expect(
                "Degraded",
                1,
                null,
                0,
                Map.of(1, 4),
                List.of("StableUnhealthy"),
                List.of(),
                List.of()),
            plan ->
                assertThat(plan.status().rollbacks.get(0).stableCheckMessage)
                    .endsWith("The stable revision is not healthy either.")));
  }

  @Test
  void measurementsAreDueOnlyWhenTheDecisionWillUseThem() {
    var measuring = new Given(canary(1, 25).since(31), 2).fleet();
    assertThat(FleetDecision.due(measuring, 2, null, NOW))
        .isEqualTo(new FleetDecision.Due(2, null, null));
    assertThat(FleetDecision.due(measuring, 2, "promote", NOW))
        .as("a person's action first")
        .isEqualTo(new FleetDecision.Due(null, null, null));
    assertThat(FleetDecision.due(measuring, 3, null, NOW))
        .as("a newer spec starts its own canary")
        .isEqualTo(new FleetDecision.Due(null, null, null));
    assertThat(FleetDecision.due(new Given(canary(1, 25).since(10), 2).fleet(), 2, null, NOW))
        .isEqualTo(new FleetDecision.Due(null, null, null));
    assertThat(
            FleetDecision.due(new Given(healthy().rolledBack(31, "done"), 2).fleet(), 2, null, NOW))
        .isEqualTo(new FleetDecision.Due(null, 1, Duration.ofSeconds(31)));
  }

  // --- statuses

  /** Revision 1 stable and ready. */
  static StatusBuilder healthy() {
    var status = new AutomationDeploymentStatus();
    status.stableRevision = 1;
    status.specRevision = 1;
    status.canaryWeight = 0;
    return new StatusBuilder(status).history(1, AutomationDeploymentStatus.Outcome.STABLE);
  }

  /** Revision 2 a canary against 1, at step {@code index} with {@code weight}. */
  static StatusBuilder canary(int index, int weight) {
    var builder = healthy();
    var status = builder.status;
    status.specRevision = 2;
    status.canaryRevision = 2;
    status.currentStepIndex = index;
    status.steps = 4;
    status.canaryWeight = weight;
    status.stepStartedAt = NOW.minusSeconds(5).toString();
    status.passedMeasurements = 0;
    return builder.history(2, AutomationDeploymentStatus.Outcome.CANARY);
  }

  record StatusBuilder(AutomationDeploymentStatus status) {
    StatusBuilder history(int revision, AutomationDeploymentStatus.Outcome outcome) {
      var entry = new AutomationDeploymentStatus.Revision();
      entry.revision = revision;
      entry.outcome = outcome;
      entry.createdAt = NOW.minusSeconds(3600).toString();
      status.history.add(entry);
      return this;
    }

    StatusBuilder since(int secondsAgo) {
      status.weightSince = NOW.minusSeconds(secondsAgo).toString();
      return this;
    }

    StatusBuilder stepStarted(int secondsAgo) {
      status.stepStartedAt = NOW.minusSeconds(secondsAgo).toString();
      return this;
    }

    StatusBuilder stable(int revision) {
      status.stableRevision = revision;
      status.specRevision = revision;
      return this;
    }

    StatusBuilder aborted(int revision) {
      status.abortedRevision = revision;
      status.abortReason = "Aborted by request at step 2.";
      return this;
    }

    /** Revision 2 rolled back to 1 {@code secondsAgo}; {@code completed} or not yet (null). */
    StatusBuilder rolledBack(int secondsAgo, String completed) {
      aborted(2);
      var rollback = new AutomationDeploymentStatus.Rollback();
      rollback.time = NOW.minusSeconds(secondsAgo).toString();
      rollback.from = 2;
      rollback.to = 1;
      rollback.reason = status.abortReason;
      rollback.stableCheck = AutomationDeploymentStatus.StableCheck.PENDING;
      rollback.completedAt = completed == null ? null : NOW.minusSeconds(secondsAgo - 1).toString();
      status.rollbacks.add(rollback);
      return this;
    }

    StatusBuilder warned() {
      status.conditions.add(
          new ConditionBuilder()
              .withType("MetricWarning")
              .withStatus("True")
              .withReason("Breached")
              .withLastTransitionTime(NOW.minusSeconds(60).toString())
              .build());
      return this;
    }
  }

  // --- facts

  static final class Given {
    private final AutomationDeploymentStatus status;
    private final int specRevision;
    private final AutomationDeploymentSpec spec = new AutomationDeploymentSpec();
    private final Map<Integer, RevisionPods.Pods> pods = new HashMap<>();
    private final Map<Integer, String> kept = new HashMap<>();
    private String action;
    private AnalysisRun canaryRun;
    private AnalysisRun stableRun;

    Given(StatusBuilder status, int specRevision) {
      this.status = status == null ? null : status.status();
      this.specRevision = specRevision;
      spec.replicas = 4;
      spec.analysis.interval = "30s";
      kept.put(specRevision, "worker:" + specRevision);
    }

    Given pods(int revision, int replicas, int ready) {
      pods.put(revision, new RevisionPods.Pods(replicas, replicas, ready));
      return this;
    }

    Given kept(int... revisions) {
      for (var revision : revisions) {
        kept.put(revision, "worker:" + revision);
      }
      return this;
    }

    Given action(String action) {
      this.action = action;
      return this;
    }

    Given canaryRun(AnalysisRun run) {
      this.canaryRun = run;
      return this;
    }

    Given stableRun(AnalysisRun run) {
      this.stableRun = run;
      return this;
    }

    Given paused() {
      spec.paused = true;
      return this;
    }

    Given disableFlags(String flag) {
      spec.onRollback = new AutomationDeploymentSpec.OnRollback();
      spec.onRollback.disableFlags = List.of(flag);
      return this;
    }

    Given steps(AutomationDeploymentSpec.Step... steps) {
      spec.strategy.canary.steps = new ArrayList<>(List.of(steps));
      return this;
    }

    AutomationDeployment fleet() {
      var fleet = new AutomationDeployment();
      fleet.setMetadata(
          new ObjectMetaBuilder()
              .withName("cobro")
              .withNamespace("tenant-acme")
              .withGeneration(3L)
              .build());
      fleet.setSpec(spec);
      fleet.setStatus(status);
      return fleet;
    }

    FleetPlan decide() {
      var facts =
          new FleetFacts(
              NOW,
              specRevision,
              "worker:" + specRevision,
              kept,
              action,
              new RevisionPods(pods),
              canaryRun,
              stableRun);
      return FleetDecision.decide(fleet(), status, facts);
    }
  }

  // --- measurements and steps

  static AnalysisRun pass(int revision) {
    return run(
        revision,
        result("error-rate", 0.01, 0.2, Verdict.PASS, 0),
        result("latency-p95", 300.0, 2000.0, Verdict.PASS, 0));
  }

  static AnalysisRun breach(int revision, String metric, double value) {
    var errorRate =
        metric.equals("error-rate")
            ? result(metric, value, 0.2, Verdict.BREACH, 1)
            : result("error-rate", 0.01, 0.2, Verdict.PASS, 0);
    var latency =
        metric.equals("latency-p95")
            ? result(metric, value, 2000.0, Verdict.BREACH, 1)
            : result("latency-p95", 300.0, 2000.0, Verdict.PASS, 0);
    return run(revision, errorRate, latency);
  }

  static AnalysisRun noData(int revision) {
    var missing = result("error-rate", null, 0.2, Verdict.NO_DATA, 0);
    missing.message = "2 attempts of revision 2 in the last 30s; 5 needed.";
    return run(revision, missing, result("latency-p95", null, 2000.0, Verdict.NO_DATA, 0));
  }

  private static AnalysisRun run(int revision, MetricResult... results) {
    var run = new AnalysisRun();
    run.time = NOW.toString();
    run.revision = revision;
    run.metrics.addAll(List.of(results));
    return run;
  }

  private static MetricResult result(
      String name, Double value, double threshold, Verdict verdict, int breaches) {
    var result = new MetricResult();
    result.name = name;
    result.value = value;
    result.threshold = threshold;
    result.verdict = verdict;
    result.breaches = breaches;
    return result;
  }

  static AutomationDeploymentSpec.Step weight(int percent) {
    return AutomationDeploymentSpec.Step.weight(percent);
  }

  static AutomationDeploymentSpec.Step pause(String duration) {
    var step = new AutomationDeploymentSpec.Step();
    step.pause = new AutomationDeploymentSpec.Pause();
    step.pause.duration = duration;
    return step;
  }
}
