package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.Objects;

/**
 * A tenant's usage against its limits, refreshed at every reconcile (at least every
 * robusto.tenant.usage-refresh, 5 minutes). Money is a decimal string in MXN.
 */
public class TenantUsage {

  @JsonPropertyDescription("The UTC day the daily figures are for, e.g. 2026-12-03.")
  private String day;

  @JsonPropertyDescription("Tickets admitted today, counted against maxDailyJobs.")
  private int admittedToday;

  @JsonPropertyDescription("The daily limit in force (status.effectiveLimits.maxDailyJobs).")
  private int maxDailyJobs;

  @JsonPropertyDescription("Batch workers the tenant's batches hold now.")
  private int workers;

  @JsonPropertyDescription("The concurrency cap in force (effectiveLimits.maxConcurrentJobs).")
  private int maxConcurrentJobs;

  @JsonPropertyDescription("The month the monthly figures are for, e.g. 2026-12.")
  private String month;

  @JsonPropertyDescription("Tickets that succeeded this month, as the tenant's workers reported.")
  private long succeededThisMonth;

  @JsonPropertyDescription("Tickets that failed permanently this month.")
  private long failedThisMonth;

  @JsonPropertyDescription("Tickets dead-lettered this month (every attempt used).")
  private long deadLetteredThisMonth;

  @JsonPropertyDescription("The price of an admitted ticket in MXN, e.g. \"1.2500\".")
  private String pricePerTicketMxn;

  @JsonPropertyDescription("What this month's admitted tickets cost, in MXN, e.g. \"625.0000\".")
  private String costThisMonthMxn;

  public TenantUsage() {}

  TenantUsage(
      TenantPlan plan, LocalDate today, TenantUsageStore.Now now, TenantUsageStore.Month month) {
    this.day = today.toString();
    this.admittedToday = now.admittedToday();
    this.maxDailyJobs = plan.limits().getMaxDailyJobs();
    this.workers = now.workers();
    this.maxConcurrentJobs = plan.limits().getMaxConcurrentJobs();
    this.month = month.month().toString();
    this.succeededThisMonth = month.succeeded();
    this.failedThisMonth = month.failed();
    this.deadLetteredThisMonth = month.deadLettered();
    this.pricePerTicketMxn = plan.pricePerTicketMxn().toPlainString();
    this.costThisMonthMxn = money(month.costMxn());
  }

  /** Four decimals, as stored, so equal amounts read the same. */
  static String money(BigDecimal amount) {
    return amount.setScale(TenantBilling.PRICE_SCALE).toPlainString();
  }

  public String getDay() {
    return day;
  }

  public void setDay(String day) {
    this.day = day;
  }

  public int getAdmittedToday() {
    return admittedToday;
  }

  public void setAdmittedToday(int admittedToday) {
    this.admittedToday = admittedToday;
  }

  public int getMaxDailyJobs() {
    return maxDailyJobs;
  }

  public void setMaxDailyJobs(int maxDailyJobs) {
    this.maxDailyJobs = maxDailyJobs;
  }

  public int getWorkers() {
    return workers;
  }

  public void setWorkers(int workers) {
    this.workers = workers;
  }

  public int getMaxConcurrentJobs() {
    return maxConcurrentJobs;
  }

  public void setMaxConcurrentJobs(int maxConcurrentJobs) {
    this.maxConcurrentJobs = maxConcurrentJobs;
  }

  public String getMonth() {
    return month;
  }

  public void setMonth(String month) {
    this.month = month;
  }

  public long getSucceededThisMonth() {
    return succeededThisMonth;
  }

  public void setSucceededThisMonth(long succeededThisMonth) {
    this.succeededThisMonth = succeededThisMonth;
  }

  public long getFailedThisMonth() {
    return failedThisMonth;
  }

  public void setFailedThisMonth(long failedThisMonth) {
    this.failedThisMonth = failedThisMonth;
  }

  public long getDeadLetteredThisMonth() {
    return deadLetteredThisMonth;
  }

  public void setDeadLetteredThisMonth(long deadLetteredThisMonth) {
    this.deadLetteredThisMonth = deadLetteredThisMonth;
  }

  public String getPricePerTicketMxn() {
    return pricePerTicketMxn;
  }

  public void setPricePerTicketMxn(String pricePerTicketMxn) {
    this.pricePerTicketMxn = pricePerTicketMxn;
  }

  public String getCostThisMonthMxn() {
    return costThisMonthMxn;
  }

  public void setCostThisMonthMxn(String costThisMonthMxn) {
    this.costThisMonthMxn = costThisMonthMxn;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantUsage other
        && admittedToday == other.admittedToday
        && maxDailyJobs == other.maxDailyJobs
        && workers == other.workers
        && maxConcurrentJobs == other.maxConcurrentJobs
        && succeededThisMonth == other.succeededThisMonth
        && failedThisMonth == other.failedThisMonth
        && deadLetteredThisMonth == other.deadLetteredThisMonth
        && Objects.equals(day, other.day)
        && Objects.equals(month, other.month)
        && Objects.equals(pricePerTicketMxn, other.pricePerTicketMxn)
        && Objects.equals(costThisMonthMxn, other.costThisMonthMxn);
  }

  @Override
  public int hashCode() {
    return Objects.hash(day, admittedToday, workers, month, succeededThisMonth, costThisMonthMxn);
  }
}
