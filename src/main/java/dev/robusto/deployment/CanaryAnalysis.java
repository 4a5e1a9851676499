package dev.robusto.deployment;

import dev.robusto.deployment.AutomationDeploymentSpec.Metric;
import dev.robusto.deployment.AutomationDeploymentStatus.AnalysisRun;
import dev.robusto.deployment.AutomationDeploymentStatus.MetricResult;
import dev.robusto.deployment.AutomationDeploymentStatus.Verdict;
import dev.robusto.metrics.MetricUnavailableException;
import dev.robusto.metrics.PrometheusQueries;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * Measures a revision against the fleet's metrics: built-in ones from the attempts its workers
 * recorded in PostgreSQL over the last interval, Prometheus ones by query. Breaches are counted in
 * a row per metric across measurements of the same revision.
 */
@ApplicationScoped
public class CanaryAnalysis {

  /** The platform's thresholds: what a fleet without metrics of its own is judged by. */
  static final List<Metric> PLATFORM_METRICS =
      List.of(
          builtin("error-rate", "errorRate", 0.2, "Rollback"),
          builtin("latency-p95", "latencyP95", 2000.0, "Warn"));

  private final FleetMetrics fleetMetrics;
  private final PrometheusQueries prometheus;

  CanaryAnalysis(FleetMetrics fleetMetrics, PrometheusQueries prometheus) {
    this.fleetMetrics = fleetMetrics;
    this.prometheus = prometheus;
  }

  static List<Metric> metrics(AutomationDeploymentSpec spec) {
    var own = spec.analysis == null ? null : spec.analysis.metrics;
    return own == null || own.isEmpty() ? PLATFORM_METRICS : own;
  }

  /**
   * Every metric of {@code revision} now, over {@code window}; breaches continue {@code last}'s.
   */
  AnalysisRun measure(
      AutomationDeployment fleet,
      String tenant,
      int revision,
      Duration window,
      Instant now,
      AnalysisRun last)
      throws SQLException {
    var run = new AnalysisRun();
    run.time = now.toString();
    run.revision = revision;
    FleetMetrics.Window attempts = null;
    for (var metric : metrics(fleet.getSpec())) {
      var result = new MetricResult();
      result.name = metric.name;
      result.threshold = metric.threshold;
      if ("prometheus".equals(metric.provider)) {
        var query =
            metric
                .query
                .replace("$revision", Integer.toString(revision))
                .replace("$namespace", fleet.getMetadata().getNamespace())
                .replace("$name", fleet.getMetadata().getName());
        try {
          var value = prometheus.queryInNamespace(query, fleet.getMetadata().getNamespace());
          result.value = value.isPresent() ? value.getAsDouble() : null;
          result.message =
              result.value == null ? "The query " + query + " returned no data." : null;
        } catch (MetricUnavailableException e) {
          result.verdict = Verdict.ERROR;
          result.message = e.getMessage();
        }
      } else {
        if (attempts == null) {
          attempts =
              fleetMetrics.since(
                  tenant, fleet.getMetadata().getName(), revision, now.minus(window));
        }
        if (attempts.attempts() < metric.minSamples) {
          result.message =
              "%d attempts of revision %d in the last %s; %d needed."
                  .formatted(attempts.attempts(), revision, seconds(window), metric.minSamples);
        } else {
          result.value =
              "latencyP95".equals(metric.builtin) ? attempts.p95Millis() : attempts.errorRate();
        }
      }
      if (result.verdict == null) {
        result.verdict =
            result.value == null
                ? Verdict.NO_DATA
                : result.value > metric.threshold ? Verdict.BREACH : Verdict.PASS;
      }
      result.breaches =
          result.verdict == Verdict.BREACH ? previousBreaches(last, revision, metric) + 1 : 0;
      run.metrics.add(result);
    }
    return run;
  }

  /** The first reason to roll back in this measurement, in plain words, or null. */
  static String rollbackReason(AutomationDeploymentSpec spec, AnalysisRun run) {
    for (var metric : metrics(spec)) {
      var result = result(run, metric);
      if (result == null) {
        continue;
      }
      var breached =
          result.verdict == Verdict.BREACH
              && result.breaches > metric.failureLimit
              && "Rollback".equals(metric.onBreach);
      var missing =
          (result.verdict == Verdict.NO_DATA || result.verdict == Verdict.ERROR)
              && "Rollback".equals(metric.onNoData);
      if (breached) {
        return "%s of revision %d was %s, over its threshold %s%s."
            .formatted(
                metric.name,
                run.revision,
                number(result.value),
                number(result.threshold),
                result.breaches > 1 ? " (" + result.breaches + " measurements in a row)" : "");
      }
      if (missing) {
        return "%s of revision %d had no data (%s), and onNoData is Rollback."
            .formatted(metric.name, run.revision, result.message);
      }
    }
    return null;
  }

  /** Metrics over their threshold whose breach only warns, as one message, or null. */
  static String warning(AutomationDeploymentSpec spec, AnalysisRun run) {
    var warnings =
        metrics(spec).stream()
            .filter(m -> "Warn".equals(m.onBreach))
            .map(m -> java.util.Map.entry(m, result(run, m)))
            .filter(e -> e.getValue() != null && e.getValue().verdict == Verdict.BREACH)
            .filter(e -> e.getValue().breaches > e.getKey().failureLimit)
            .map(
                e ->
                    "%s of revision %d is %s, over %s"
                        .formatted(
                            e.getKey().name,
                            run.revision,
                            number(e.getValue().value),
                            number(e.getValue().threshold)))
            .toList();
    return warnings.isEmpty() ? null : String.join("; ", warnings) + ".";
  }

  /** Why the rollout waits for data, or null when every metric had some. */
  static String missingData(AutomationDeploymentSpec spec, AnalysisRun run) {
    var missing =
        metrics(spec).stream()
            .filter(m -> "Pause".equals(m.onNoData))
            .map(m -> result(run, m))
            .filter(r -> r != null && (r.verdict == Verdict.NO_DATA || r.verdict == Verdict.ERROR))
            .map(r -> r.name + ": " + r.message)
            .toList();
    return missing.isEmpty() ? null : String.join(" ", missing);
  }

  /** True when nothing in the run stops the rollout from going on. */
  static boolean passed(AutomationDeploymentSpec spec, AnalysisRun run) {
    return rollbackReason(spec, run) == null && missingData(spec, run) == null;
  }

  private static MetricResult result(AnalysisRun run, Metric metric) {
    return run.metrics.stream().filter(r -> r.name.equals(metric.name)).findFirst().orElse(null);
  }

  private static int previousBreaches(AnalysisRun last, int revision, Metric metric) {
    if (last == null || last.revision == null || last.revision != revision) {
      return 0;
    }
    var previous = result(last, metric);
    return previous == null ? 0 : previous.breaches;
  }

  private static Metric builtin(String name, String builtin, double threshold, String onBreach) {
    var metric = new Metric();
    metric.name = name;
    metric.builtin = builtin;
    metric.threshold = threshold;
    metric.onBreach = onBreach;
    return metric;
  }

  static String number(Double value) {
    if (value == null) {
      return "no data";
    }
    return value == Math.rint(value) && Math.abs(value) < 1e9
        ? Long.toString(value.longValue())
        : String.format(Locale.ROOT, "%.3f", value);
  }

  private static String seconds(Duration window) {
    return window.toSeconds() + "s";
  }
}
