package dev.robusto.merchant;

import dev.robusto.operator.Conditions;
import dev.robusto.operator.EnumNames;
import dev.robusto.operator.StatusWrites;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/**
 * A Merchant's status from what its tenant's workers reported: the credential in use, its circuits,
 * the last hour's success rate, and Ready with a reason that says what to do.
 */
final class MerchantStatusAggregator {

  static final String READY = Conditions.READY;

  /** The portal's circuits, from the URLs' reports. */
  enum Circuit {
    CLOSED,
    PARTLY_OPEN,
    OPEN,
    UNKNOWN;

    @Override
    public String toString() {
      return EnumNames.upperCamel(this);
    }
  }

  private MerchantStatusAggregator() {}

  static MerchantStatus of(
      Merchant merchant, String tenant, List<String> circuitNames, MerchantObservations.Seen seen) {
    var previous = merchant.getStatus();
    var status = StatusWrites.copy(previous, MerchantStatus.class, MerchantStatus::new);
    var generation = merchant.getMetadata().getGeneration();
    status.observedGeneration = generation;
    status.tenant = tenant;
    status.credentialInUse = seen.credential() == null ? null : capitalized(seen.credential());
    var open =
        circuitNames.stream().filter(n -> Boolean.TRUE.equals(seen.circuits().get(n))).toList();
    var circuit = circuit(circuitNames, seen, open);
    status.circuit = circuit.toString();
    status.openCircuits = open.isEmpty() ? null : open;
    status.lastHour = calls(seen);
    status.lastObservedTime = seen.lastReport() == null ? null : seen.lastReport().toString();
    var secret = secretName(merchant);
    String reason;
    String message;
    boolean ready;
    if ("missing".equals(seen.credential())) {
      ready = false;
      reason = "CredentialsMissing";
      message =
          ("Workers found neither key primary nor fallback in Secret %s: create it in this"
                  + " namespace with both keys (kubectl create secret generic %s"
                  + " --from-literal=primary=... --from-literal=fallback=...). Its tickets wait,"
                  + " using no attempt.")
              .formatted(secret, secret);
    } else if ("refused".equals(seen.credential())) {
      ready = false;
      reason = "CredentialsRefused";
      message =
          ("The portal refused both credentials of Secret %s (HTTP 401): put a valid one in"
                  + " primary or fallback. Its tickets wait, using no attempt; workers send the"
                  + " refused ones again at most once a minute.")
              .formatted(secret);
    } else if (circuit == Circuit.OPEN) {
      ready = false;
      reason = "CircuitOpen";
      message =
          ("Every URL of the portal failed %d times in a row; workers call it again after %s."
                  + " Its tickets wait in the queue without using an attempt.")
              .formatted(
                  merchant.getSpec().circuitBreaker.failures,
                  merchant.getSpec().circuitBreaker.openFor);
    } else if ("fallback".equals(seen.credential())) {
      ready = true;
      reason = "FallbackCredential";
      message =
          ("The portal refused the primary credential; calls use the fallback. Finish the"
                  + " rotation: put the fallback's value in primary of Secret %s.")
              .formatted(secret);
    } else if (seen.lastReport() == null) {
      ready = true;
      reason = "NoRecentCalls";
      message = "No worker has called the portal in the last hour.";
    } else {
      ready = true;
      reason = "Ready";
      message =
          "Calls succeed%s; %s of the last hour's succeeded."
              .formatted(
                  circuit == Circuit.PARTLY_OPEN
                      ? " through the alternative URLs (" + String.join(", ", open) + " open)"
                      : "",
                  status.lastHour.successRate);
    }
    status.conditions =
        List.of(
            Conditions.of(
                previous == null ? null : previous.conditions,
                generation,
                READY,
                ready,
                reason,
                message));
    return status;
  }

  /** A reconcile that failed says why in Ready. */
  static MerchantStatus failed(Merchant merchant, Exception error) {
    var previous = merchant.getStatus();
    var status = StatusWrites.copy(previous, MerchantStatus.class, MerchantStatus::new);
    status.conditions =
        Conditions.notReady(status.conditions, merchant.getMetadata().getGeneration(), error);
    return status;
  }

  /** A merchant outside a tenant's namespace. */
  static MerchantStatus noTenant(Merchant merchant) {
    var previous = merchant.getStatus();
    var status = StatusWrites.copy(previous, MerchantStatus.class, MerchantStatus::new);
    status.observedGeneration = merchant.getMetadata().getGeneration();
    status.conditions =
        List.of(
            Conditions.of(
                previous == null ? null : previous.conditions,
                merchant.getMetadata().getGeneration(),
                READY,
                false,
                "TenantNotFound",
                "Namespace "
                    + merchant.getMetadata().getNamespace()
                    + " belongs to no Tenant; create merchants in a tenant's namespace."));
    return status;
  }

  private static Circuit circuit(
      List<String> names, MerchantObservations.Seen seen, List<String> open) {
    if (names.stream().noneMatch(seen.circuits()::containsKey)) {
      return Circuit.UNKNOWN;
    }
    if (open.isEmpty()) {
      return Circuit.CLOSED;
    }
    return open.size() == names.size() ? Circuit.OPEN : Circuit.PARTLY_OPEN;
  }

  private static MerchantStatus.Calls calls(MerchantObservations.Seen seen) {
    var calls = new MerchantStatus.Calls();
    calls.succeeded = seen.succeeded();
    calls.failed = seen.failed();
    calls.fallbacks = seen.fallbacks();
    var total = seen.succeeded() + seen.failed();
    calls.successRate =
        total == 0
            ? null
            : BigDecimal.valueOf(seen.succeeded() * 100L)
                    .divide(BigDecimal.valueOf(total), 1, RoundingMode.DOWN)
                    .stripTrailingZeros()
                    .toPlainString()
                + "%";
    return calls;
  }

  private static String secretName(Merchant merchant) {
    var credentials = merchant.getSpec().credentials;
    return credentials == null ? "(none: spec.credentials is not set)" : credentials.secretName;
  }

  private static String capitalized(String state) {
    return Character.toUpperCase(state.charAt(0)) + state.substring(1);
  }
}
