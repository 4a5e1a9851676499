package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.testing.Charts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.Prerequisites;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The chart's monitoring objects, rendered by the real helm and checked by the real promtool: the
 * alert rules parse and pass their unit tests (each alert fires over its threshold and stays silent
 * under it), and every dashboard is valid JSON whose every query parses.
 */
@Tag("cluster")
class MonitoringChartIT {

  @Test
  void theAlertRulesParseAndEachFiresOverItsThresholdOnly() throws Exception {
    var dir = rules();
    var check = promtool(dir, "check", "rules", "--lint=all", "rules.yml");
    assertThat(check.exitCode()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: 14 rules found");
    var tests = promtool(dir, "test", "rules", "robusto-alerts-test.yml");
    assertThat(tests.exitCode()).as(tests.output()).isZero();
    assertThat(tests.output()).contains("SUCCESS");

    // The tests follow the thresholds in values: raised ones make the firing cases fail.
    var raised =
        rules(
            "monitoring.prometheusRule.thresholds.ticketErrorRatio=0.4",
            "monitoring.prometheusRule.thresholds.queueDepth=70",
            "monitoring.prometheusRule.thresholds.circuitOpenFor=20m");
    var failing = promtool(raised, "test", "rules", "robusto-alerts-test.yml");
    assertThat(failing.exitCode()).isNotZero();
    assertThat(failing.output())
        .contains("alertname: RobustoTicketErrorRateHigh")
        .contains("alertname: RobustoQueueBacklog")
        .contains("alertname: RobustoPortalCircuitOpen")
        .doesNotContain("alertname: RobustoNoLeader");
  }

  @Test
  void everyDashboardIsJsonAndEveryQueryParses() throws Exception {
    var rendered =
        Charts.template(
            "--set",
            "monitoring.dashboards.enabled=true",
            "--show-only",
            "templates/dashboards.yaml");
    var queries = new LinkedHashMap<String, String>();
    var dashboards = 0;
    for (var document : new Yaml().loadAll(rendered)) {
      @SuppressWarnings("unchecked")
      var data = (Map<String, String>) ((Map<String, Object>) document).get("data");
      for (var entry : data.entrySet()) {
        dashboards++;
        var dashboard = new ObjectMapper().readTree(entry.getValue());
        assertThat(dashboard.get("title").asText()).startsWith("Robusto / ");
        assertThat(dashboard.get("panels")).as(entry.getKey()).isNotEmpty();
        for (var panel : dashboard.get("panels")) {
          assertThat(panel.get("targets")).as(panel.get("title").asText()).isNotEmpty();
          for (var target : panel.get("targets")) {
            queries.put(
                entry.getKey() + " / " + panel.get("title").asText() + " / " + refId(target),
                target.get("expr").asText());
          }
        }
      }
    }
    assertThat(dashboards).as("overview, tenant usage, batches, fleets, flags").isEqualTo(5);

    // Each query as a recording rule, Grafana's variables filled in: promtool parses them all.
    var rules = new ArrayList<Map<String, String>>();
    queries.forEach(
        (where, expr) ->
            rules.add(
                Map.of(
                    "record",
                    "dashboard:query_" + rules.size(),
                    "expr",
                    expr.replace("$__rate_interval", "5m")
                        .replace("$tenant", "acme")
                        .replace("$namespace", "tenant-acme"))));
    var dir = Files.createTempDirectory("robusto-dashboards");
    Files.writeString(
        dir.resolve("queries.yml"),
        new Yaml().dump(Map.of("groups", List.of(Map.of("name", "dashboards", "rules", rules)))));
    var check = promtool(dir, "check", "rules", "queries.yml");
    assertThat(check.exitCode()).as(check.output() + "\n" + queries).isZero();
    assertThat(check.output()).contains("SUCCESS: " + queries.size() + " rules found");
  }

  private static String refId(JsonNode target) {
    return target.get("refId").asText();
  }

  /** The chart's PrometheusRule groups, with the tests, in a fresh directory. */
  private static Path rules(String... sets) throws Exception {
    var dir = Files.createTempDirectory("robusto-rules");
    Files.writeString(dir.resolve("rules.yml"), new Yaml().dump(Charts.alertRules(sets)));
    try (var test =
        MonitoringChartIT.class.getResourceAsStream("/alerts/robusto-alerts-test.yml")) {
      Files.write(dir.resolve("robusto-alerts-test.yml"), test.readAllBytes());
    }
    return dir;
  }

  private static LocalCluster.Result promtool(Path dir, String... args) {
    var command = new ArrayList<String>();
    command.add(Prerequisites.path("promtool").toString());
    command.addAll(List.of(args));
    return LocalCluster.exec(dir, command, 120, null);
  }
}
