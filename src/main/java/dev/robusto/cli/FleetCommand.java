package dev.robusto.cli;

import dev.robusto.deployment.AutomationDeployment;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code robusto fleet promote|abort|retry|rollback}: a person's order to a fleet's rollout, as the
 * robusto.dev/action annotation the operator carries out (and then removes), audited.
 */
@Command(name = "fleet", description = "AutomationDeployments: act on a rollout.")
final class FleetCommand {

  private final RobustoCli cli;

  FleetCommand(RobustoCli cli) {
    this.cli = cli;
  }

  @Command(name = "promote", description = "Skip the canary's remaining steps: it becomes stable.")
  Integer promote(
      @Parameters(paramLabel = "NAME") String name,
      @Option(names = {"-n", "--namespace"}) String namespace) {
    return order(name, namespace, "promote");
  }

  @Command(name = "abort", description = "Stop the canary and go back to the stable revision.")
  Integer abort(
      @Parameters(paramLabel = "NAME") String name,
      @Option(names = {"-n", "--namespace"}) String namespace) {
    return order(name, namespace, "abort");
  }

  @Command(
      name = "retry",
      description = "Roll out again a revision that was aborted or rolled back.")
  Integer retry(
      @Parameters(paramLabel = "NAME") String name,
      @Option(names = {"-n", "--namespace"}) String namespace) {
    return order(name, namespace, "retry");
  }

  @Command(
      name = "rollback",
      description = "Go back to a kept revision (status.history lists them).")
  Integer rollback(
      @Parameters(index = "0", paramLabel = "NAME") String name,
      @Parameters(index = "1", paramLabel = "REVISION") int revision,
      @Option(names = {"-n", "--namespace"}) String namespace) {
    return order(name, namespace, "rollback:" + revision);
  }

  private int order(String name, String namespace, String action) {
    var ns = cli.namespace(namespace);
    var fleets =
        cli.kubernetes().resources(AutomationDeployment.class).inNamespace(ns).withName(name);
    var fleet = fleets.get();
    if (fleet == null) {
      throw new RobustoCli.CliException(
          "No AutomationDeployment %s in namespace %s. kubectl get automationdeployments -A lists them."
              .formatted(name, ns));
    }
    // A merge patch, as kubectl annotate sends: no resourceVersion to conflict with the operator's
    // own writes to the fleet.
    var patch = RobustoCli.JSON.createObjectNode();
    patch
        .putObject("metadata")
        .putObject("annotations")
        .put(AutomationDeployment.ACTION_ANNOTATION, action);
    fleets.patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
    cli.out.printf(
        "Asked AutomationDeployment %s/%s to %s. The operator carries it out, says so in"
            + " status.lastAction and an Event: kubectl get automationdeployment %s -n %s -w%n",
        ns, name, action, name, ns);
    return 0;
  }
}
