package dev.robusto.cli;

import dev.robusto.batch.AutomationBatch;
import dev.robusto.deployment.AutomationDeployment;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FlagSwitch;
import dev.robusto.operator.Conditions;
import dev.robusto.tenant.Tenant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code robusto status TENANT}: a tenant as a tree, from its resources' status. */
@Command(
    name = "status",
    description =
        "A tenant as a tree: readiness, limits, today's usage, its batches, fleets and flags.")
final class StatusCommand implements Callable<Integer> {

  @Parameters(paramLabel = "TENANT", description = "The Tenant's name.")
  String name;

  private final RobustoCli cli;

  StatusCommand(RobustoCli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    var client = cli.kubernetes();
    var tenant = client.resources(Tenant.class).withName(name).get();
    if (tenant == null) {
      throw new RobustoCli.CliException(
          "No Tenant %s. kubectl get tenants lists them.".formatted(name));
    }
    var status = tenant.getStatus();
    var ready =
        status == null
            ? null
            : Conditions.find(status.getConditions(), Conditions.READY).orElse(null);
    cli.out.printf(
        "Tenant %s (%s): %s%n",
        name,
        tenant.getSpec().getTier(),
        ready == null
            ? "not reconciled yet"
            : ("True".equals(ready.getStatus()) ? "Ready" : "not Ready")
                + ", "
                + ready.getReason()
                + ": "
                + ready.getMessage());
    if (status == null || status.getNamespace() == null) {
      return 0;
    }
    var namespace = status.getNamespace();
    var sections = new ArrayList<Section>();
    sections.add(new Section("namespace " + namespace, List.of()));
    var limits = status.getEffectiveLimits();
    if (limits != null) {
      sections.add(
          new Section(
              "limits: %d workers at once, %d tickets a day, %d portal calls a minute"
                  .formatted(
                      limits.getMaxConcurrentJobs(),
                      limits.getMaxDailyJobs(),
                      limits.getRequestsPerMinute()),
              List.of()));
    }
    var usage = status.getUsage();
    if (usage != null) {
      sections.add(
          new Section(
              "usage",
              List.of(
                  "today (%s): %d of %d tickets admitted, %d of %d workers"
                      .formatted(
                          usage.getDay(),
                          usage.getAdmittedToday(),
                          usage.getMaxDailyJobs(),
                          usage.getWorkers(),
                          usage.getMaxConcurrentJobs()),
                  "%s: %d succeeded, %d failed, %d dead-lettered; %s MXN at %s a ticket"
                      .formatted(
                          usage.getMonth(),
                          usage.getSucceededThisMonth(),
                          usage.getFailedThisMonth(),
                          usage.getDeadLetteredThisMonth(),
                          usage.getCostThisMonthMxn(),
                          usage.getPricePerTicketMxn()))));
    }
    var batches = new ArrayList<String>();
    for (var batch :
        client.resources(AutomationBatch.class).inNamespace(namespace).list().getItems()) {
      var s = batch.getStatus();
      batches.add(
          s == null || s.counts == null
              ? batch.getMetadata().getName() + ": not queued yet"
              : "%s: %s, %d of %d succeeded, %d failed, %d dead-lettered, %d pending"
                  .formatted(
                      batch.getMetadata().getName(),
                      s.phase,
                      s.counts.succeeded,
                      s.counts.total,
                      s.counts.failed,
                      s.counts.deadLettered,
                      s.counts.pending + s.counts.throttled));
    }
    sections.add(new Section("batches", batches));
    var fleets = new ArrayList<String>();
    for (var fleet :
        client.resources(AutomationDeployment.class).inNamespace(namespace).list().getItems()) {
      var s = fleet.getStatus();
      fleets.add(
          s == null || s.phase == null
              ? fleet.getMetadata().getName() + ": not reconciled yet"
              : "%s: %s, stable revision %s%s"
                  .formatted(
                      fleet.getMetadata().getName(),
                      s.phase,
                      s.stableRevision,
                      s.canaryRevision == null
                          ? ""
                          : ", canary revision %d at %d %% (step %d of %d)"
                              .formatted(
                                  s.canaryRevision,
                                  s.canaryWeight,
                                  s.currentStepIndex + 1,
                                  s.steps)));
    }
    sections.add(new Section("fleets", fleets));
    var flags = new ArrayList<String>();
    for (var flag : client.resources(FeatureFlag.class).list().getItems()) {
      flags.add(flag.getMetadata().getName() + ": " + flagFor(flag));
    }
    sections.add(new Section("flags", flags));
    print(sections);
    return 0;
  }

  /** How a flag stands for this tenant, from its spec and annotations (OFREP evaluates it). */
  private String flagFor(FeatureFlag flag) {
    var spec = flag.getSpec();
    if (spec.state == dev.robusto.flag.FeatureFlagSpec.State.DISABLED) {
      return "disabled for every tenant";
    }
    var annotations = flag.getMetadata().getAnnotations();
    var off = annotations == null ? null : annotations.get(FlagSwitch.DISABLED_FOR + name);
    if (off != null) {
      return "off for this tenant: " + off;
    }
    var override = spec.tenants == null ? null : spec.tenants.get(name);
    if (override != null) {
      return "variant " + override + " (this tenant's override)";
    }
    return spec.rollout == null
        ? "variant " + spec.defaultVariant + " (the default)"
        : "by rollout (robusto flag eval %s --tenant %s)"
            .formatted(flag.getMetadata().getName(), name);
  }

  private record Section(String title, List<String> items) {}

  private void print(List<Section> sections) {
    for (var i = 0; i < sections.size(); i++) {
      var last = i == sections.size() - 1;
      var section = sections.get(i);
      var items = section.items();
      cli.out.println((last ? "└─ " : "├─ ") + section.title());
      if (items.isEmpty() && List.of("batches", "fleets", "flags").contains(section.title())) {
        cli.out.println((last ? "   " : "│  ") + "└─ none");
      }
      for (var j = 0; j < items.size(); j++) {
        cli.out.println(
            (last ? "   " : "│  ") + (j == items.size() - 1 ? "└─ " : "├─ ") + items.get(j));
      }
    }
  }
}
