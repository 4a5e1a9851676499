package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.security.GeneralSecurityException;
import org.junit.jupiter.api.Test;

class PayloadCipherTest {

  private static final String PAYLOAD = "{\"rfc\":\"XAXX010101000\",\"total\":1250.50}";

  @Test
  void aSealedPayloadHoldsNothingOfItAndOpensAsItWasGiven() throws Exception {
    var key = PayloadCipher.newKey();
    var sealed = PayloadCipher.seal(key, 3, "acme", PAYLOAD);
    assertThat(sealed).doesNotContain("XAXX").doesNotContain("1250");
    // Stored as jsonb, it comes back reformatted: it still reads as sealed.
    var asStored = new ObjectMapper().readTree(sealed).toPrettyString();
    var parts = PayloadCipher.sealed(asStored).orElseThrow();
    assertThat(parts.version()).isEqualTo(3);
    assertThat(PayloadCipher.open(key, parts, "acme")).isEqualTo(PAYLOAD);
    // Two seals of one payload differ (a fresh iv each).
    assertThat(PayloadCipher.seal(key, 3, "acme", PAYLOAD)).isNotEqualTo(sealed);
  }

  @Test
  void aSealedPayloadOpensForItsTenantAndKeyVersionOnly() throws Exception {
    var key = PayloadCipher.newKey();
    var sealed = PayloadCipher.sealed(PayloadCipher.seal(key, 1, "acme", PAYLOAD)).orElseThrow();
    assertThatThrownBy(() -> PayloadCipher.open(key, sealed, "beta"))
        .isInstanceOf(PayloadCipher.UnreadablePayloadException.class)
        .hasMessageNotContaining("XAXX");
    var relabelled = new PayloadCipher.Sealed(2, sealed.iv(), sealed.data());
    assertThatThrownBy(() -> PayloadCipher.open(key, relabelled, "acme"))
        .isInstanceOf(PayloadCipher.UnreadablePayloadException.class);
    assertThatThrownBy(() -> PayloadCipher.open(PayloadCipher.newKey(), sealed, "acme"))
        .isInstanceOf(PayloadCipher.UnreadablePayloadException.class);
    var flipped = sealed.data().clone();
    flipped[0] ^= 1;
    assertThatThrownBy(
            () ->
                PayloadCipher.open(key, new PayloadCipher.Sealed(1, sealed.iv(), flipped), "acme"))
        .isInstanceOf(PayloadCipher.UnreadablePayloadException.class);
  }

  @Test
  void aWrappedDataKeyUnwrapsWithItsKeyAndContextOnly() throws Exception {
    var wrapping = PayloadCipher.newKey();
    var dataKey = PayloadCipher.newKey();
    var context = PayloadCipher.dataKeyContext("acme", 1);
    var wrapped = PayloadCipher.wrap(wrapping, dataKey, context);
    assertThat(PayloadCipher.unwrap(wrapping, wrapped, context)).isEqualTo(dataKey);
    assertThatThrownBy(
            () -> PayloadCipher.unwrap(wrapping, wrapped, PayloadCipher.dataKeyContext("beta", 1)))
        .isInstanceOf(GeneralSecurityException.class);
    assertThatThrownBy(() -> PayloadCipher.unwrap(PayloadCipher.newKey(), wrapped, context))
        .isInstanceOf(GeneralSecurityException.class);
  }

  @Test
  void payloadsOfTheClearAreToldApartFromSealedOnes() throws Exception {
    var json = new ObjectMapper();
    assertThat(PayloadCipher.sealed(PAYLOAD)).isEmpty();
    assertThat(PayloadCipher.sealed("{\"note\": \"robusto.dev/sealed\"}")).isEmpty();
    assertThat(PayloadCipher.sealed("[1, 2]")).isEmpty();
    assertThatThrownBy(() -> PayloadCipher.sealed("{\"robusto.dev/sealed\": {\"key\": \"x\"}}"))
        .isInstanceOf(PayloadCipher.UnreadablePayloadException.class);
    assertThat(PayloadCipher.reserved(json.readTree("{\"robusto.dev/sealed\": 1, \"a\": 2}")))
        .isTrue();
    assertThat(PayloadCipher.reserved(json.readTree(PAYLOAD))).isFalse();
    assertThat(PayloadCipher.reserved(json.readTree("\"robusto.dev/sealed\""))).isFalse();
  }
}
