package dev.robusto.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code robusto tenant cfdi-report T} and {@code robusto tenant export T}: a tenant's monthly CFDI
 * report and its GDPR export, from the operator's API with the caller's own rights.
 */
@Command(name = "tenant", description = "A tenant's reports and data.")
final class TenantCommand {

  private final RobustoCli cli;

  TenantCommand(RobustoCli cli) {
    this.cli = cli;
  }

  @Command(
      name = "cfdi-report",
      description =
          "The month's tickets by merchant and outcome with their totals (the CFDI SAT monthly"
              + " report), as a table, or CSV with --csv.")
  Integer cfdiReport(
      @Parameters(paramLabel = "TENANT") String tenant,
      @Option(names = "--month", description = "YYYY-MM, UTC (default: this month).") String month,
      @Option(names = "--csv", description = "Print CSV, for a spreadsheet.") boolean csv) {
    var path =
        "/api/v1/tenants/%s/cfdi-report?format=%s%s"
            .formatted(
                encode(tenant),
                csv ? "csv" : "json",
                month == null ? "" : "&month=" + encode(month));
    var response = cli.call("GET", path, null);
    if (response.statusCode() != 200) {
      throw cli.refused(response, response.body());
    }
    if (csv) {
      cli.out.print(response.body());
      return 0;
    }
    var report = RobustoCli.json(response.body());
    cli.out.printf("CFDI report of %s, %s%n", tenant, report.path("month").asText());
    cli.out.printf(
        "%-24s %-14s %8s %16s %14s%n", "MERCHANT", "STATE", "TICKETS", "TOTAL MXN", "NO TOTAL");
    for (var line : report.path("lines")) {
      cli.out.printf(
          "%-24s %-14s %8d %16s %14d%n",
          line.path("merchant").isNull() ? "(none)" : line.path("merchant").asText(),
          line.path("state").asText(),
          line.path("tickets").asLong(),
          line.path("totalMxn").asText(),
          line.path("withoutTotal").asLong());
    }
    cli.out.printf(
        "invoiced: %d tickets, %s MXN%n",
        report.path("invoicedTickets").asLong(), report.path("invoicedTotalMxn").asText());
    return 0;
  }

  @Command(
      name = "export",
      description =
          "Everything the platform's database holds about the tenant, as JSON lines on standard"
              + " output (a GDPR export; recorded in the audit trail).")
  Integer export(@Parameters(paramLabel = "TENANT") String tenant) {
    var response = cli.call("GET", "/api/v1/tenants/%s/export".formatted(encode(tenant)), null);
    if (response.statusCode() != 200) {
      throw cli.refused(response, response.body());
    }
    cli.out.print(response.body());
    return 0;
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
