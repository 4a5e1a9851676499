package dev.robusto.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code robusto batch watch NAME}: a batch's progress, live, from the operator's stream. */
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

  /** [#########---------] 45/100 succeeded 40 failed 3 dead 2 pending 55 Running */
  static String render(String name, com.fasterxml.jackson.databind.JsonNode progress) {
    var counts = progress.path("counts");
    long succeeded = counts.path("succeeded").asLong();
    long failed = counts.path("failed").asLong();
    long dead = counts.path("deadLettered").asLong();
    long live =
        counts.path("held").asLong()
            + counts.path("pending").asLong()
            + counts.path("running").asLong();
    long done = succeeded + failed + dead;
    long total = done + live;
    var filled = total == 0 ? BAR : (int) (BAR * done / total);
    return "%s [%s%s] %d/%d  succeeded %d  failed %d  dead %d  waiting %d  %s"
        .formatted(
            name,
            "#".repeat(filled),
            "-".repeat(BAR - filled),
            done,
            total,
            succeeded,
            failed,
            dead,
            live,
            progress.path("phase").asText());
  }
}
