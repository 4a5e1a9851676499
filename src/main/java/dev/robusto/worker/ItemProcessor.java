package dev.robusto.worker;

/** Processes one ticket; how a batch's tickets become invoices (http, command or simulated). */
public interface ItemProcessor {

  /** What to do with the item after this attempt. */
  enum Verdict {
    SUCCEEDED,
    /** Failed in a way that may pass next time: retried after a backoff. */
    RETRY,
    /** The item itself is wrong: failed for good, not retried. */
    PERMANENT_FAILURE,
    /** Not attempted (the endpoint's circuit is open): back to the queue, no attempt used. */
    DEFERRED
  }

  /** The verdict and, for failures, what happened in words (recorded as the item's last error). */
  record Result(Verdict verdict, String detail) {

    static final Result SUCCESS = new Result(Verdict.SUCCEEDED, null);
  }

  /** Processes the item's {@code attempt}-th attempt; never throws for a failure of the item. */
  Result process(String key, String payloadJson, int attempt);

  /** Each endpoint's circuit breaker (host:port) and whether it is open; none by default. */
  default java.util.Map<String, Boolean> circuits() {
    return java.util.Map.of();
  }

  /** The calls to a Merchant's portal, for its status; none but for a merchant's processor. */
  default java.util.Optional<MerchantCalls> merchantCalls() {
    return java.util.Optional.empty();
  }
}
