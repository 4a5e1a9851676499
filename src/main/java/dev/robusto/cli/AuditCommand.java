package dev.robusto.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code robusto audit verify}: the operator's verification of the hash-chained audit log; {@code
 * robusto audit custody}: of the ticket outcomes chained in it; {@code robusto audit entries}: the
 * entries themselves; {@code robusto audit report}: a period's, as CSV.
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
      name = "custody",
      description =
          "Verify the chain of custody of ticket outcomes: each finished ticket as it was chained."
              + " Exit 1 when one was changed or removed, naming it.")
  Integer custody() {
    var response = cli.call("GET", "/api/v1/audit/custody", null);
    if (response.statusCode() != 200 && response.statusCode() != 409) {
      throw cli.refused(response, response.body());
    }
    var result = RobustoCli.json(response.body());
    if (result.path("intact").asBoolean()) {
      cli.out.printf(
          "chain of custody intact: %d ticket outcomes in %d audit rows (%d since removed with"
              + " their batch or by retention)%n",
          result.path("outcomes").asLong(),
          result.path("auditRows").asLong(),
          result.path("removed").asLong());
      return 0;
    }
    throw new RobustoCli.CliException(
        "chain of custody BROKEN at audit row %d: %s. Keep the database as it is."
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
    var response =
        cli.call(
            "GET",
            "/api/v1/audit/entries" + query(tenant, actor, resource, since, null, limit, null),
            null);
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

  @Command(
      name = "report",
      description =
          "Who changed which resource when, over a period (a SOX change report): every entry from"
              + " --from to --to, newest first, as CSV; actor_groups, for changes asked of the"
              + " Kubernetes API, the groups the user asked as, separated by ';'.")
  Integer report(
      @Option(names = "--from", required = true, description = "e.g. 2026-11-01T00:00:00Z.")
          String from,
      @Option(names = "--to", required = true, description = "Excluded, e.g. 2026-12-01T00:00:00Z.")
          String to,
      @Option(names = "--tenant", description = "Only this tenant's.") String tenant,
      @Option(names = "--actor", description = "Only this actor's.") String actor,
      @Option(names = "--resource", description = "Only resources starting so.") String resource) {
    cli.out.println("seq,at,actor,action,resource,tenant,before_hash,after_hash,hash,actor_groups");
    String cursor = null;
    do {
      var response =
          cli.call(
              "GET",
              "/api/v1/audit/entries" + query(tenant, actor, resource, from, to, 500, cursor),
              null);
      if (response.statusCode() != 200) {
        throw cli.refused(response, response.body());
      }
      var page = RobustoCli.json(response.body());
      for (var entry : page.path("entries")) {
        cli.out.println(
            String.join(
                ",",
                entry.path("seq").asText(),
                entry.path("at").asText(),
                csv(entry.path("actor").asText()),
                entry.path("action").asText(),
                csv(entry.path("resource").asText()),
                csv(entry.path("tenant").asText("")),
                entry.path("beforeHash").asText(""),
                entry.path("afterHash").asText(""),
                entry.path("hash").asText(),
                csv(groups(entry.path("actorGroups")))));
      }
      cursor = page.hasNonNull("nextCursor") ? page.get("nextCursor").asText() : null;
    } while (cursor != null);
    return 0;
  }

  private static String groups(com.fasterxml.jackson.databind.JsonNode groups) {
    var names = new java.util.ArrayList<String>();
    groups.forEach(group -> names.add(group.asText()));
    return String.join(";", names);
  }

  private static String query(
      String tenant,
      String actor,
      String resource,
      String from,
      String to,
      int limit,
      String cursor) {
    var query = new StringBuilder("?limit=" + limit);
    parameter(query, "tenant", tenant);
    parameter(query, "actor", actor);
    parameter(query, "resource", resource);
    parameter(query, "from", from);
    parameter(query, "to", to);
    parameter(query, "cursor", cursor);
    return query.toString();
  }

  /** A CSV field: quoted when it holds a comma, a quote or a line break. */
  static String csv(String field) {
    return field.matches("(?s).*[,\"\r\n].*") ? "\"" + field.replace("\"", "\"\"") + "\"" : field;
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
