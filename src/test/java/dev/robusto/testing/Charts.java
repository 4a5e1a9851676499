package dev.robusto.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

/** The chart rendered by the real helm, without a cluster. */
public final class Charts {

  public static final String CHART = "helm/robusto-operator";

  private Charts() {}

  /** {@code helm template} in namespace robusto-system with a database Secret named, plus args. */
  public static String template(String... args) {
    var command = new ArrayList<String>();
    command.add(LocalCluster.binDir().resolve("helm").toString());
    command.addAll(
        List.of(
            "template",
            "robusto",
            CHART,
            "--namespace",
            "robusto-system",
            "--set",
            "database.existingSecret=robusto-db"));
    command.addAll(List.of(args));
    return LocalCluster.checked(LocalCluster.exec(LocalCluster.projectDir(), command, 120, null));
  }

  /** The operator Deployment's pod spec, as {@link #template} renders it with {@code args}. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> operatorPod(String... args) {
    var all = new ArrayList<String>(List.of(args));
    all.addAll(List.of("--show-only", "templates/deployment.yaml"));
    Map<String, Object> deployment = new Yaml().load(template(all.toArray(String[]::new)));
    var template =
        (Map<String, Object>) ((Map<String, Object>) deployment.get("spec")).get("template");
    return (Map<String, Object>) template.get("spec");
  }

  /** The command of the operator pod's init container: the migration step. */
  @SuppressWarnings("unchecked")
  public static List<String> migrationCommand() {
    var init = (List<Map<String, Object>>) operatorPod().get("initContainers");
    return (List<String>) init.get(0).get("command");
  }

  /** The command of the audit checkpointer's container, as the chart's Deployment runs it. */
  @SuppressWarnings("unchecked")
  public static List<String> checkpointerCommand() {
    for (var document :
        new Yaml().loadAll(template("--show-only", "templates/audit-checkpointer.yaml"))) {
      var object = (Map<String, Object>) document;
      if ("Deployment".equals(object.get("kind"))) {
        var spec = (Map<String, Object>) object.get("spec");
        var pod = (Map<String, Object>) ((Map<String, Object>) spec.get("template")).get("spec");
        var containers = (List<Map<String, Object>>) pod.get("containers");
        return (List<String>) containers.get(0).get("command");
      }
    }
    throw new IllegalStateException("the chart renders no checkpointer Deployment");
  }

  /** The PrometheusRule's spec (its groups), with {@code sets} as extra --set values. */
  public static Map<String, Object> alertRules(String... sets) {
    var args = new ArrayList<String>();
    args.addAll(List.of("--set", "monitoring.prometheusRule.enabled=true"));
    for (var set : sets) {
      args.addAll(List.of("--set", set));
    }
    args.addAll(List.of("--show-only", "templates/prometheusrule.yaml"));
    Map<String, Object> rule = new Yaml().load(template(args.toArray(String[]::new)));
    @SuppressWarnings("unchecked")
    var spec = (Map<String, Object>) rule.get("spec");
    return spec;
  }

  /** One alert's expression, by its name. */
  @SuppressWarnings("unchecked")
  public static String alertExpression(String alert) {
    for (var group : (List<Map<String, Object>>) alertRules().get("groups")) {
      for (var rule : (List<Map<String, Object>>) group.get("rules")) {
        if (alert.equals(rule.get("alert"))) {
          return ((String) rule.get("expr")).strip();
        }
      }
    }
    throw new IllegalArgumentException("no alert " + alert);
  }
}
