package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class AuditKeysTest {

  private static final String OLD = "k1:" + Base64.getEncoder().encodeToString(new byte[32]);
  private static final String NEW =
      "k2:" + Base64.getEncoder().encodeToString("a-new-key-of-thirty-two-bytes-!!".getBytes());

  @Test
  void theFirstKeySealsAndEveryKeyVerifies() {
    var rotated = AuditKeys.parse(NEW + ", " + OLD).macs();
    var old = AuditKeys.parse(OLD).macs();
    var sealedBefore = old.seal(7, "abc");
    assertThat(rotated.keyId()).isEqualTo("k2");
    assertThat(rotated.matches("k1", 7, "abc", sealedBefore)).isTrue();
    assertThat(rotated.matches("k2", 7, "abc", rotated.seal(7, "abc"))).isTrue();
    assertThat(rotated.seal(7, "abc")).isNotEqualTo(sealedBefore).hasSize(64);
    assertThat(rotated.matches("k1", 8, "abc", sealedBefore)).as("another row").isFalse();
    assertThat(rotated.matches("k1", 7, "abd", sealedBefore)).as("another hash").isFalse();
    assertThat(old.matches("k2", 7, "abc", sealedBefore)).as("a key not live").isNull();
  }

  @Test
  void badKeysAreRefusedWithWhatToDoAndNoKeyIsEverPrinted() {
    assertThat(AuditKeys.parse("").sealing()).isFalse();
    assertThatThrownBy(
            () -> AuditKeys.parse("k1:" + Base64.getEncoder().encodeToString(new byte[16])))
        .hasMessageContaining("has 16 bytes; give at least 32 (openssl rand -base64 32)");
    assertThatThrownBy(() -> AuditKeys.parse("K1:AAAA"))
        .hasMessageContaining("each key is id:base64");
    assertThatThrownBy(() -> AuditKeys.parse("k1:not base64!")).hasMessageContaining("not base64");
    assertThatThrownBy(() -> AuditKeys.parse(OLD + "," + OLD)).hasMessageContaining("k1 twice");
    assertThat(AuditKeys.parse(NEW + "," + OLD)).hasToString("AuditKeys[k2, k1]");
  }
}
