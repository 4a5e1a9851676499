package dev.robusto.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code robusto batch watch|suspend|resume|dead-letters|redrive NAME}, {@code cancel NAME KEY...}:
 * a batch's progress, live, from the operator's stream, and its controls.
 */
@Command(name = "batch", description = "AutomationBatches.")
final class BatchCommand {

  private static final int BAR = 30;

  private final RobustoCli cli;

  BatchCommand(RobustoCli cli) {
    this.cli = cli;
  }

  @Command(
      name = "watch",
      description =
          "Follow a batch's progress (the operator's server-sent events) until it is finished.")
  Integer watch(
      @Parameters(paramLabel = "NAME", description = "The AutomationBatch.") String name,
      @Option(
              names = {"-n", "--namespace"},
              description = "Its namespace (default: the kubeconfig context's).")
          String namespace)
      throws Exception {
    var ns = cli.namespace(namespace);
    var response = cli.stream("/api/v1/namespaces/%s/batches/%s/events".formatted(ns, name));
    if (response.statusCode() != 200) {
      throw cli.refused(response, String.join("\n", response.body().toList()));
    }
    var event = new String[] {null};
    var finished = new boolean[] {false};
    try (var lines = response.body()) {
      lines.forEach(
          line -> {
            if (line.startsWith("event:")) {
              event[0] = line.substring("event:".length()).strip();
            } else if (line.startsWith("data:")) {
              var progress = RobustoCli.json(line.substring("data:".length()).strip());
              cli.out.println(render(name, progress));
              finished[0] |= "done".equals(event[0]);
            }
          });
    }
    if (!finished[0]) {
      throw new RobustoCli.CliException(
          "The stream ended before the batch finished (the operator restarted, or the stream's"
              + " time limit): run the command again to go on.");
    }
    return 0;
  }

  @Command(
      name = "suspend",
      description =
          "Pause a batch: its workers finish the tickets they hold and exit (spec.suspend).")
  Integer suspend(
      @Parameters(paramLabel = "NAME", description = "The AutomationBatch.") String name,
      @Option(
              names = {"-n", "--namespace"},
              description = "Its namespace (default: the kubeconfig context's).")
          String namespace) {
    return setSuspend(name, namespace, true);
  }

  @Command(name = "resume", description = "Resume a suspended batch.")
  Integer resume(
      @Parameters(paramLabel = "NAME", description = "The AutomationBatch.") String name,
      @Option(
              names = {"-n", "--namespace"},
              description = "Its namespace (default: the kubeconfig context's).")
          String namespace) {
    return setSuspend(name, namespace, false);
  }

  private int setSuspend(String name, String namespace, boolean suspend) {
    var ns = cli.namespace(namespace);
    var batches =
        cli.kubernetes()
            .resources(dev.robusto.batch.AutomationBatch.class)
            .inNamespace(ns)
            .withName(name);
    if (batches.get() == null) {
      throw new RobustoCli.CliException(
          "No AutomationBatch %s in namespace %s. kubectl get automationbatches -A lists them."
              .formatted(name, ns));
    }
    // A merge patch: no resourceVersion to conflict with the operator's own writes.
    batches.patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
            io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"spec\": {\"suspend\": " + suspend + "}}");
    cli.out.printf(
        "AutomationBatch %s/%s %s. Follow it: robusto batch watch %s -n %s%n",
        ns,
        name,
        suspend ? "suspended (its workers finish the tickets they hold, then exit)" : "resumed",
        name,
        ns);
    return 0;
  }

  @Command(
      name = "dead-letters",
      description = "List a batch's dead-lettered tickets with their last error.")
  Integer deadLetters(
      @Parameters(paramLabel = "NAME", description = "The AutomationBatch.") String name,
      @Option(
              names = {"-n", "--namespace"},
              description = "Its namespace (default: the kubeconfig context's).")
          String namespace) {
    var ns = cli.namespace(namespace);
    String after = null;
    var listed = 0;
    do {
      var path =
          "/api/v1/namespaces/%s/batches/%s/dead-letters?limit=500".formatted(ns, name)
              + (after == null
                  ? ""
                  : "&after="
                      + java.net.URLEncoder.encode(after, java.nio.charset.StandardCharsets.UTF_8));
      var response = cli.call("GET", path, null);
      if (response.statusCode() != 200) {
        throw cli.refused(response, response.body());
      }
      var page = RobustoCli.json(response.body());
      for (var item : page.path("items")) {
        cli.out.printf(
            "%s  attempts %d  %s%n",
            item.path("key").asText(),
            item.path("attempts").asInt(),
            item.path("lastError").asText(""));
        listed++;
      }
      after = page.path("next").isTextual() ? page.path("next").asText() : null;
    } while (after != null);
    cli.out.printf("%d dead-lettered tickets.%n", listed);
    return 0;
  }

  @Command(
      name = "redrive",
      description =
          "Requeue a batch's dead-lettered tickets with fresh attempts, within the daily quota.")
  Integer redrive(
      @Parameters(paramLabel = "NAME", description = "The AutomationBatch.") String name,
      @Option(
              names = {"-n", "--namespace"},
              description = "Its namespace (default: the kubeconfig context's).")
          String namespace) {
    var ns = cli.namespace(namespace);
    var response =
        cli.call(
            "POST",
            "/api/v1/namespaces/%s/batches/%s/dead-letters:redrive".formatted(ns, name),
            null);
    if (response.statusCode() != 202) {
      throw cli.refused(response, response.body());
    }
    cli.out.printf(
        "Redrive %d of AutomationBatch %s/%s asked; status.lastRedrive says how many tickets it"
            + " requeued. Follow it: robusto batch watch %s -n %s%n",
        RobustoCli.json(response.body()).path("redriveGeneration").asLong(), ns, name, name, ns);
    return 0;
  }

  @Command(
      name = "cancel",
      description = "Take tickets no worker has claimed out of a batch's queue (by key).")
  Integer cancel(
      @Parameters(index = "0", paramLabel = "NAME", description = "The AutomationBatch.")
          String name,
      @Parameters(index = "1..*", paramLabel = "KEY", description = "The tickets' keys.")
          java.util.List<String> keys,
      @Option(
              names = {"-n", "--namespace"},
              description = "Its namespace (default: the kubeconfig context's).")
          String namespace) {
    var ns = cli.namespace(namespace);
    var refused = 0;
    for (var key : keys) {
      var response =
          cli.call(
              "DELETE",
              "/api/v1/namespaces/%s/batches/%s/tickets/%s"
                  .formatted(
                      ns,
                      name,
                      // A path segment: a space is %20 there, not the form encoding's +.
                      java.net.URLEncoder.encode(key, java.nio.charset.StandardCharsets.UTF_8)
                          .replace("+", "%20")),
              null);
      if (response.statusCode() == 200) {
        cli.out.printf("%s cancelled%n", key);
      } else if (response.statusCode() == 409 || response.statusCode() == 404) {
        cli.out.printf(
            "%s not cancelled: %s%n", key, cli.refused(response, response.body()).getMessage());
        refused++;
      } else {
        throw cli.refused(response, response.body());
      }
    }
    return refused == 0 ? 0 : 1;
  }

  /** [#########---------] 45/100 succeeded 40 failed 3 dead 2 pending 55 Running */
  static String render(String name, com.fasterxml.jackson.databind.JsonNode progress) {
    var counts = progress.path("counts");
    long succeeded = counts.path("succeeded").asLong();
    long failed = counts.path("failed").asLong();
    long dead = counts.path("deadLettered").asLong();
    long cancelled = counts.path("cancelled").asLong();
    long live =
        counts.path("held").asLong()
            + counts.path("pending").asLong()
            + counts.path("running").asLong();
    long done = succeeded + failed + dead + cancelled;
    long total = done + live;
    var filled = total == 0 ? BAR : (int) (BAR * done / total);
    return "%s [%s%s] %d/%d  succeeded %d  failed %d  dead %d%s  waiting %d  %s"
        .formatted(
            name,
            "#".repeat(filled),
            "-".repeat(BAR - filled),
            done,
            total,
            succeeded,
            failed,
            dead,
            cancelled == 0 ? "" : "  cancelled " + cancelled,
            live,
            progress.path("phase").asText());
  }
}
