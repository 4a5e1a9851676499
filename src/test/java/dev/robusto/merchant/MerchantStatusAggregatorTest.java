package dev.robusto.merchant;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MerchantStatusAggregatorTest {

  private static final List<String> URLS = List.of("portal.example:443", "respaldo.example:443");

  @ParameterizedTest(name = "{0} {1}/{2}, circuits {3} -> {4} {5} {6}")
  @CsvSource(
      delimiter = '|',
      value = {
        // credential | succeeded | failed | open circuits | Ready | reason | circuit | rate
        "primary  | 97 | 3 | ''                                    | True  | Ready              | Closed     | 97%",
        "fallback | 10 | 0 | ''                                    | True  | FallbackCredential | Closed     | 100%",
        "none     | 2  | 1 | portal.example:443                    | True  | Ready              | PartlyOpen | 66.6%",
        "primary  | 0  | 9 | portal.example:443 respaldo.example:443 | False | CircuitOpen      | Open       | 0%",
        "missing  | 0  | 4 | ''                                    | False | CredentialsMissing | Closed     | 0%",
        "refused  | 0  | 4 | ''                                    | False | CredentialsRefused | Closed     | 0%",
      })
  void readyAndItsReasonFollowWhatTheWorkersReported(
      String credential,
      long succeeded,
      long failed,
      String open,
      String ready,
      String reason,
      String circuit,
      String rate) {
    var circuits = new java.util.HashMap<String, Boolean>();
    URLS.forEach(u -> circuits.put(u, open.contains(u)));
    var status =
        MerchantStatusAggregator.of(
            merchant(),
            "acme",
            URLS,
            new MerchantObservations.Seen(
                succeeded, failed, 0, credential, Instant.parse("2026-12-03T10:00:00Z"), circuits));
    var condition = status.conditions.get(0);
    assertThat(condition.getType()).isEqualTo("Ready");
    assertThat(condition.getStatus()).isEqualTo(ready);
    assertThat(condition.getReason()).isEqualTo(reason);
    assertThat(condition.getMessage()).doesNotContain("null");
    assertThat(status.circuit).isEqualTo(circuit);
    assertThat(status.lastHour.successRate).isEqualTo(rate);
    assertThat(status.credentialInUse)
        .isEqualTo(Character.toUpperCase(credential.charAt(0)) + credential.substring(1));
    assertThat(status.observedGeneration).isEqualTo(3L);
  }

  @Test
  void noReportInTheLastHourIsReadyWithNothingToSay() {
    var status =
        MerchantStatusAggregator.of(
            merchant(), "acme", URLS, new MerchantObservations.Seen(0, 0, 0, null, null, Map.of()));
    assertThat(status.conditions.get(0).getReason()).isEqualTo("NoRecentCalls");
    assertThat(status.circuit).isEqualTo("Unknown");
    assertThat(status.lastHour.successRate).isNull();
    assertThat(status.credentialInUse).isNull();
  }

  private static Merchant merchant() {
    var merchant = new Merchant();
    merchant.setMetadata(
        new ObjectMetaBuilder()
            .withName("oxxo")
            .withNamespace("tenant-acme")
            .withGeneration(3L)
            .build());
    merchant.setSpec(new MerchantSpec());
    merchant.getSpec().url = "https://portal.example/api";
    merchant.getSpec().alternativeUrls = List.of("https://respaldo.example/api");
    merchant.getSpec().credentials = new MerchantSpec.Credentials();
    merchant.getSpec().credentials.secretName = "oxxo-portal";
    return merchant;
  }
}
