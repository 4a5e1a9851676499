package dev.robusto.tenant;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A month's invoice-style usage report per tenant (hack/usage-report), straight from PostgreSQL:
 * one line per day with tickets admitted, succeeded, failed and dead-lettered, processing time and
 * cost, then the month's totals. Connection from QUARKUS_DATASOURCE_JDBC_URL, _USERNAME and
 * _PASSWORD, as the operator's. Exit code: 0 printed, 2 usage or connection error.
 */
public final class UsageReport {

  private UsageReport() {}

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.out, System.err));
  }

  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    YearMonth month;
    try {
      month = args.length == 0 ? YearMonth.now(java.time.ZoneOffset.UTC) : YearMonth.parse(args[0]);
    } catch (DateTimeParseException e) {
      err.println("usage: usage-report [YYYY-MM [TENANT...]] (" + args[0] + " is not a month)");
      return 2;
    }
    var url = env.get("QUARKUS_DATASOURCE_JDBC_URL");
    if (url == null) {
      err.println(
          "Set QUARKUS_DATASOURCE_JDBC_URL, _USERNAME and _PASSWORD to the operator's database.");
      return 2;
    }
    var dataSource = new PGSimpleDataSource();
    dataSource.setURL(url);
    dataSource.setUser(env.get("QUARKUS_DATASOURCE_USERNAME"));
    dataSource.setPassword(env.get("QUARKUS_DATASOURCE_PASSWORD"));
    var usage = new TenantUsageStore(dataSource);
    var tenants = new TenantDatabase(dataSource);
    try {
      List<String> names =
          args.length > 1
              ? Arrays.asList(args).subList(1, args.length)
              : usage.tenantsWithUsage(month);
      out.printf("Robusto usage, %s (UTC days); amounts in MXN%n", month);
      if (names.isEmpty()) {
        out.println("No tenant used the platform this month.");
      }
      for (var name : names) {
        var config = tenants.config(name);
        out.printf(
            "%nTenant %s (%s), now %s MXN per admitted ticket (each day at its own price)%n",
            name,
            config.map(TenantDatabase.Config::tier).orElse("no longer configured"),
            config.map(c -> c.pricePerTicketMxn().toPlainString()).orElse("-"));
        out.printf(
            "  %-10s %9s %9s %7s %13s %12s %14s%n",
            "day", "admitted", "succeeded", "failed", "dead-lettered", "processing", "cost");
        var days = usage.days(name, month.atDay(1), month.atEndOfMonth());
        for (var d : days) {
          out.printf(
              "  %-10s %9d %9d %7d %13d %12s %14s%n",
              d.day(),
              d.admitted(),
              d.succeeded(),
              d.failed(),
              d.deadLettered(),
              seconds(d.processingMs()),
              TenantUsage.money(d.costMxn()));
        }
        var total = usage.month(name, month);
        out.printf(
            "  %-10s %9d %9d %7d %13d %12s %14s%n",
            "total",
            total.admitted(),
            total.succeeded(),
            total.failed(),
            total.deadLettered(),
            seconds(total.processingMs()),
            TenantUsage.money(total.costMxn()));
      }
      return 0;
    } catch (SQLException e) {
      err.println("Cannot report: " + e.getMessage());
      return 2;
    }
  }

  private static String seconds(long millis) {
    return BigDecimal.valueOf(millis, 3).setScale(1, java.math.RoundingMode.HALF_UP) + " s";
  }
}
