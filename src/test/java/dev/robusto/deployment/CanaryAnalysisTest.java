package dev.robusto.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.deployment.AutomationDeploymentStatus.AnalysisRun;
import dev.robusto.deployment.AutomationDeploymentStatus.MetricResult;
import dev.robusto.deployment.AutomationDeploymentStatus.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a measurement means for the rollout: roll back, warn, wait for data, or go on. */
class CanaryAnalysisTest {

  @Test
  void theDefaultsRollBackOnErrorRateAndOnlyWarnOnLatency() {
    var spec = new AutomationDeploymentSpec();
    var run =
        run(
            result("error-rate", 0.1, 0.2, Verdict.PASS, 0),
            result("latency-p95", 2400, 2000, Verdict.BREACH, 1));
    assertThat(CanaryAnalysis.rollbackReason(spec, run)).isNull();
    assertThat(CanaryAnalysis.warning(spec, run))
        .isEqualTo("latency-p95 of revision 3 is 2400, over 2000.");
    assertThat(CanaryAnalysis.passed(spec, run)).isTrue();

    var failing =
        run(
            result("error-rate", 0.41, 0.2, Verdict.BREACH, 1),
            result("latency-p95", 80, 2000, Verdict.PASS, 0));
    assertThat(CanaryAnalysis.rollbackReason(spec, failing))
        .isEqualTo("error-rate of revision 3 was 0.410, over its threshold 0.200.");
    assertThat(CanaryAnalysis.passed(spec, failing)).isFalse();
  }

  @Test
  void aFailureLimitToleratesThatManyBreachesInARow() {
    var spec = new AutomationDeploymentSpec();
    var metric = new AutomationDeploymentSpec.Metric();
    metric.name = "errores";
    metric.builtin = "errorRate";
    metric.threshold = 0.05;
    metric.failureLimit = 2;
    spec.analysis.metrics = List.of(metric);
    assertThat(
            CanaryAnalysis.rollbackReason(
                spec, run(result("errores", 0.2, 0.05, Verdict.BREACH, 2))))
        .isNull();
    assertThat(
            CanaryAnalysis.rollbackReason(
                spec, run(result("errores", 0.2, 0.05, Verdict.BREACH, 3))))
        .isEqualTo(
            "errores of revision 3 was 0.200, over its threshold 0.050 (3 measurements in a row).");
  }

  @Test
  void noDataHoldsTheRolloutUnlessTheMetricSaysRollBack() {
    var spec = new AutomationDeploymentSpec();
    var empty = result("error-rate", null, 0.2, Verdict.NO_DATA, 0);
    empty.message = "0 attempts of revision 3 in the last 10s; 5 needed.";
    var run = run(empty, result("latency-p95", null, 2000, Verdict.NO_DATA, 0));
    assertThat(CanaryAnalysis.rollbackReason(spec, run)).isNull();
    assertThat(CanaryAnalysis.missingData(spec, run))
        .startsWith("error-rate: 0 attempts of revision 3 in the last 10s; 5 needed.");
    assertThat(CanaryAnalysis.passed(spec, run)).isFalse();

    var strict = new AutomationDeploymentSpec.Metric();
    strict.name = "error-rate";
    strict.builtin = "errorRate";
    strict.threshold = 0.2;
    strict.onNoData = "Rollback";
    spec.analysis.metrics = List.of(strict);
    assertThat(CanaryAnalysis.rollbackReason(spec, run(empty)))
        .isEqualTo(
            "error-rate of revision 3 had no data (0 attempts of revision 3 in the last 10s; 5"
                + " needed.), and onNoData is Rollback.");
  }

  private static AnalysisRun run(MetricResult... results) {
    var run = new AnalysisRun();
    run.revision = 3;
    run.metrics = List.of(results);
    return run;
  }

  private static MetricResult result(
      String name, Number value, double threshold, Verdict verdict, int breaches) {
    var result = new MetricResult();
    result.name = name;
    result.value = value == null ? null : value.doubleValue();
    result.threshold = threshold;
    result.verdict = verdict;
    result.breaches = breaches;
    return result;
  }
}
