package dev.robusto.worker;

/**
 * A worker's calls to its Merchant's portal since its last report: succeeded and failed calls,
 * fallbacks to the second credential, and the credential state (primary, fallback, missing,
 * refused, or none for a portal that takes no credential). Taken by {@link MerchantReports}, given
 * back when the report fails.
 */
final class MerchantCalls {

  /** What one report carries. */
  record Report(String merchant, int succeeded, int failed, int fallbacks, String credential) {}

  private final String merchant;
  private final MerchantCredentials credentials;
  private int succeeded;
  private int failed;
  private int fallbacks;

  MerchantCalls(String merchant, MerchantCredentials credentials) {
    this.merchant = merchant;
    this.credentials = credentials;
  }

  synchronized void succeeded() {
    succeeded++;
  }

  synchronized void failed() {
    failed++;
  }

  synchronized void fellBack() {
    fallbacks++;
  }

  /** The counts so far, reset. */
  synchronized Report take() {
    var report =
        new Report(
            merchant,
            succeeded,
            failed,
            fallbacks,
            credentials == null ? "none" : credentials.state());
    succeeded = 0;
    failed = 0;
    fallbacks = 0;
    return report;
  }

  /** A report that could not be delivered: its counts go into the next. */
  synchronized void giveBack(Report report) {
    succeeded += report.succeeded();
    failed += report.failed();
    fallbacks += report.fallbacks();
  }
}
