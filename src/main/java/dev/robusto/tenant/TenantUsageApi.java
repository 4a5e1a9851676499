package dev.robusto.tenant;

import dev.robusto.api.CallerLimits;
import dev.robusto.api.KubeAuth;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.sql.SQLException;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * A tenant's figures. The caller needs {@code get} on robusto.dev tenantusages in the tenant's
 * namespace (its owners have it through the chart's aggregated roles) or cluster-wide (platform
 * admins).
 *
 * <ul>
 *   <li>{@code GET /api/v1/tenants/{name}/usage?from=&to=}: daily usage and cost (UTC days, both
 *       included; default to today and from the first of to's month).
 *   <li>{@code GET /api/v1/tenants/{name}/cfdi-report?month=&format=}: the month's tickets by
 *       merchant and outcome with their totals (the CFDI SAT monthly report), as JSON or CSV.
 * </ul>
 */
@Path("/api/v1/tenants/{name}")
public class TenantUsageApi {

  /** The longest range one call returns: a bit over a year of daily rows. */
  static final int MAX_DAYS = 400;

  /** The answer: daily rows and their totals; money as decimal strings in MXN. */
  public record UsageResponse(
      String tenant,
      String from,
      String to,
      List<DayResponse> days,
      long succeeded,
      long failed,
      long deadLettered,
      String costMxn) {}

  public record DayResponse(
      String day,
      int admitted,
      int succeeded,
      int failed,
      int deadLettered,
      int retried,
      long processingMs,
      String costMxn) {}

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final TenantDatabase database;
  private final TenantUsageStore usage;
  private final PayloadKeys payloadKeys;
  private final Clock clock;

  TenantUsageApi(
      KubeAuth auth,
      CallerLimits limits,
      TenantDatabase database,
      TenantUsageStore usage,
      PayloadKeys payloadKeys,
      Clock clock) {
    this.auth = auth;
    this.limits = limits;
    this.database = database;
    this.usage = usage;
    this.payloadKeys = payloadKeys;
    this.clock = clock;
  }

  @GET
  @Path("/usage")
  @Produces(MediaType.APPLICATION_JSON)
  public UsageResponse usage(
      @HeaderParam("Authorization") String authorization,
      @PathParam("name") String name,
      @QueryParam("from") String from,
      @QueryParam("to") String to)
      throws SQLException {
    authorize(authorization, name);
    var today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    var first = day("from", from, today.withDayOfMonth(1));
    var last = day("to", to, today);
    if (last.isBefore(first)) {
      throw KubeAuth.refuse(400, "to (%s) is before from (%s).".formatted(last, first), "to");
    }
    if (ChronoUnit.DAYS.between(first, last) >= MAX_DAYS) {
      throw KubeAuth.refuse(
          400,
          "Ask for at most %d days at a time (from %s to %s).".formatted(MAX_DAYS, first, last),
          "to");
    }
    var rows = usage.days(name, first, last);
    var days =
        rows.stream()
            .map(
                d ->
                    new DayResponse(
                        d.day().toString(),
                        d.admitted(),
                        d.succeeded(),
                        d.failed(),
                        d.deadLettered(),
                        d.retried(),
                        d.processingMs(),
                        TenantUsage.money(d.costMxn())))
            .toList();
    return new UsageResponse(
        name,
        first.toString(),
        last.toString(),
        days,
        rows.stream().mapToLong(TenantUsageStore.Day::succeeded).sum(),
        rows.stream().mapToLong(TenantUsageStore.Day::failed).sum(),
        rows.stream().mapToLong(TenantUsageStore.Day::deadLettered).sum(),
        TenantUsage.money(
            rows.stream()
                .map(TenantUsageStore.Day::costMxn)
                .reduce(java.math.BigDecimal.ZERO, java.math.BigDecimal::add)));
  }

  /** One line of the CFDI report: a merchant's tickets in one outcome, totals in MXN. */
  public record CfdiLineResponse(
      String merchant, String state, long tickets, String totalMxn, long withoutTotal) {}

  /** The CFDI SAT monthly report: the month's lines, and what was invoiced in all. */
  public record CfdiResponse(
      String tenant,
      String month,
      List<CfdiLineResponse> lines,
      long invoicedTickets,
      String invoicedTotalMxn) {}

  @GET
  @Path("/cfdi-report")
  @Produces({MediaType.APPLICATION_JSON, "text/csv"})
  public jakarta.ws.rs.core.Response cfdiReport(
      @HeaderParam("Authorization") String authorization,
      @PathParam("name") String name,
      @QueryParam("month") String month,
      @QueryParam("format") @jakarta.ws.rs.DefaultValue("json") String format)
      throws SQLException {
    authorize(authorization, name);
    if (!format.equals("json") && !format.equals("csv")) {
      throw KubeAuth.refuse(400, "format is json or csv.", "format");
    }
    var period = month(month);
    var from = period.atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    var to = period.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    var lines = usage.cfdi(name, from, to, payloadKeys);
    if (format.equals("csv")) {
      var csv = new StringBuilder("merchant,state,tickets,total_mxn,tickets_without_total\n");
      for (var line : lines) {
        csv.append(line.merchant() == null ? "" : line.merchant())
            .append(',')
            .append(line.state())
            .append(',')
            .append(line.tickets())
            .append(',')
            .append(line.total().toPlainString())
            .append(',')
            .append(line.withoutTotal())
            .append('\n');
      }
      return jakarta.ws.rs.core.Response.ok(csv.toString(), "text/csv")
          .header(
              "Content-Disposition",
              "attachment; filename=\"cfdi-%s-%s.csv\"".formatted(name, period))
          .build();
    }
    var invoiced = lines.stream().filter(l -> l.state().equals("succeeded")).toList();
    return jakarta.ws.rs.core.Response.ok(
            new CfdiResponse(
                name,
                period.toString(),
                lines.stream()
                    .map(
                        l ->
                            new CfdiLineResponse(
                                l.merchant(),
                                l.state(),
                                l.tickets(),
                                l.total().toPlainString(),
                                l.withoutTotal()))
                    .toList(),
                invoiced.stream().mapToLong(TenantUsageStore.CfdiLine::tickets).sum(),
                invoiced.stream()
                    .map(TenantUsageStore.CfdiLine::total)
                    .reduce(java.math.BigDecimal.ZERO, java.math.BigDecimal::add)
                    .toPlainString()),
            MediaType.APPLICATION_JSON)
        .build();
  }

  /** The caller may read tenant {@code name}'s figures, and it has rows; else refused. */
  private void authorize(String authorization, String name) throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.USAGE, caller.getUsername());
    var config = database.config(name).filter(c -> !c.retained());
    // An unknown tenant is asked about cluster-wide: only an admin learns that it does not exist.
    auth.allow(
        caller,
        "get",
        "tenantusages",
        null,
        config.map(TenantDatabase.Config::namespace).orElse(null));
    if (config.isEmpty()) {
      throw KubeAuth.refuse(404, "No tenant named " + name + ".");
    }
  }

  private java.time.YearMonth month(String value) {
    if (value == null || value.isBlank()) {
      return java.time.YearMonth.from(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
    }
    try {
      return java.time.YearMonth.parse(value);
    } catch (DateTimeParseException e) {
      throw KubeAuth.refuse(
          400, "month=%s is not a month: give it as YYYY-MM (UTC).".formatted(value), "month");
    }
  }

  private static LocalDate day(String parameter, String value, LocalDate fallback) {
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      return LocalDate.parse(value);
    } catch (DateTimeParseException e) {
      throw KubeAuth.refuse(
          400,
          "%s=%s is not a day: give it as YYYY-MM-DD (UTC).".formatted(parameter, value),
          parameter);
    }
  }
}
