package dev.robusto.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code robusto audit verify}: the operator's verification of the hash-chained audit log; {@code
 * robusto audit entries}: the entries themselves.
 */
@Command(name = "audit", description = "The audit trail.")
final class AuditCommand {

  private final RobustoCli cli;

  AuditCommand(RobustoCli cli) {
    this.cli = cli;
  }

  @Command(
      name = "verify",
      description =
          "Verify the audit chain (from the last anchor; --full from the first row). Exit 1 when"
              + " it is broken, naming the first broken row.")
  Integer verify(@Option(names = "--full", description = "Walk from the first row.") boolean full) {
    var response = cli.call("GET", "/api/v1/audit/verify" + (full ? "?full=true" : ""), null);
    if (response.statusCode() != 200 && response.statusCode() != 409) {
      throw cli.refused(response, response.body());
    }
    var result = RobustoCli.json(response.body());
    if (result.path("intact").asBoolean()) {
      cli.out.printf(
          "audit chain intact: %d rows, verified from row %d%s%n",
          result.path("rows").asLong(),
          result.path("fromSeq").asLong(),
          result.path("anchorSeq").isNull() || result.path("anchorSeq").isMissingNode()
              ? " (no anchor: a cut tail would go unseen)"
              : ", anchored at row " + result.path("anchorSeq").asLong());
      return 0;
    }
    throw new RobustoCli.CliException(
        "audit chain BROKEN at row %d: %s. Keep the database as it is and run hack/audit-verify."
            .formatted(result.path("firstBrokenSeq").asLong(), result.path("problem").asText()));
  }

  @Command(
      name = "entries",
      description =
          "The trail's entries, newest first: your tenant's (--tenant, as its owner), or everyone's"
              + " (as an auditor).")
  Integer entries(
      @Option(names = "--tenant", description = "Only this tenant's.") String tenant,
      @Option(names = "--actor", description = "Only this actor's.") String actor,
      @Option(
              names = "--resource",
              description = "Only resources starting so, e.g. AutomationBatch/tenant-acme/.")
          String resource,
      @Option(names = "--since", description = "From this time, e.g. 2026-12-01T00:00:00Z.")
          String since,
      @Option(names = "--limit", defaultValue = "50", description = "At most this many (1-500).")
          int limit) {
    var query = new StringBuilder("?limit=" + limit);
    parameter(query, "tenant", tenant);
    parameter(query, "actor", actor);
    parameter(query, "resource", resource);
    parameter(query, "from", since);
    var response = cli.call("GET", "/api/v1/audit/entries" + query, null);
    if (response.statusCode() != 200) {
      throw cli.refused(response, response.body());
    }
    for (var entry : RobustoCli.json(response.body()).path("entries")) {
      cli.out.printf(
          "%6d  %s  %-8s %s  by %s%n",
          entry.path("seq").asLong(),
          entry.path("at").asText(),
          entry.path("action").asText(),
          entry.path("resource").asText(),
          entry.path("actor").asText());
    }
    return 0;
  }

  private static void parameter(StringBuilder query, String name, String value) {
    if (value != null) {
      query
          .append('&')
          .append(name)
          .append('=')
          .append(java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8));
    }
  }
}
