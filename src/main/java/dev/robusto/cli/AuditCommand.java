package dev.robusto.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code robusto audit verify}: the operator's verification of the hash-chained audit log. */
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
}
