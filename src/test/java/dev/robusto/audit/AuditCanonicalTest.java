package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The verifier checks hashes from the bytes PostgreSQL sends ({@link AuditCanonical.RowHasher});
 * the operator hashes what it appends from strings ({@link AuditCanonical#canonical}). Both must be
 * the one canonical form, or a verification would call an intact row altered (AuditLogIT checks the
 * strings against the database's trigger).
 */
class AuditCanonicalTest {

  private static final List<AuditEntry> ENTRIES =
      List.of(
          new AuditEntry("robusto-operator/tenant", "update", "Tenant/acme", "acme", "a", "b"),
          new AuditEntry("kube:alice", "create", "Tenant/ñandú", "ñandú", null, "b"),
          new AuditEntry("kube:bob", "delete", "Merchant/t/🧾-oxxo", null, "a", null, "[\"g\"]"),
          new AuditEntry(null, null, null, null, null, null, null),
          new AuditEntry("", "", "", "", "", "", ""),
          // Longer than the hasher's first buffer, with 2-, 3- and 4-byte characters.
          new AuditEntry(
              "kube:carol", "update", "Tenant/" + "ñ€🧾x".repeat(300), "t", "a", "b", "[]"));

  @Test
  void theBytesAndTheStringsGiveTheSameHashForEveryKindOfColumn() {
    var hasher = new AuditCanonical.RowHasher();
    var sha256 = AuditCanonical.sha256();
    long seq = 1;
    var prevHash = "";
    for (var entry : ENTRIES) {
      var at = 1_764_800_000_123_456L + seq;
      var hash =
          AuditCanonical.chainHash(sha256, prevHash, AuditCanonical.canonical(seq, at, entry));
      assertThat(hasher.matches(seq, at, columns(entry), utf8(prevHash), utf8(hash)))
          .as("row %d: %s", seq, entry)
          .isTrue();
      assertThat(hasher.matches(seq + 1, at, columns(entry), utf8(prevHash), utf8(hash)))
          .as("the same row at another seq")
          .isFalse();
      assertThat(hasher.matches(seq, at, columns(entry), utf8(prevHash + "0"), utf8(hash)))
          .as("the same row after another row")
          .isFalse();
      assertThat(hasher.matches(seq, at, columns(entry), utf8(prevHash), utf8(hash.toUpperCase())))
          .as("a hash as PostgreSQL never writes it")
          .isFalse();
      prevHash = hash;
      seq++;
    }
  }

  @Test
  void aChangedCharacterOrAGroupAddedOrRemovedChangesTheHash() {
    var hasher = new AuditCanonical.RowHasher();
    var entry = ENTRIES.get(2);
    var hash =
        AuditCanonical.chainHash(
            AuditCanonical.sha256(), "", AuditCanonical.canonical(5, 9, entry));
    var columns = columns(entry);
    columns[2] = utf8("Merchant/t/🧾-oxxp");
    assertThat(hasher.matches(5, 9, columns, utf8(""), utf8(hash))).isFalse();
    columns = columns(entry);
    columns[6] = null;
    assertThat(hasher.matches(5, 9, columns, utf8(""), utf8(hash))).as("groups removed").isFalse();
    columns[6] = utf8("");
    assertThat(hasher.matches(5, 9, columns, utf8(""), utf8(hash))).as("groups emptied").isFalse();
  }

  @Test
  void hexIsComparedAsPostgreSqlWritesIt() {
    var bytes = new byte[] {0x00, (byte) 0xab, 0x7f};
    assertThat(AuditCanonical.hexEquals(bytes, utf8("00ab7f"))).isTrue();
    assertThat(AuditCanonical.hexEquals(bytes, utf8("00AB7F"))).isFalse();
    assertThat(AuditCanonical.hexEquals(bytes, utf8("00ab7e"))).isFalse();
    assertThat(AuditCanonical.hexEquals(bytes, utf8("00ab7f00"))).isFalse();
    assertThat(AuditCanonical.hexEquals(bytes, null)).isFalse();
  }

  private static byte[][] columns(AuditEntry entry) {
    return new byte[][] {
      utf8(entry.actor()),
      utf8(entry.action()),
      utf8(entry.resource()),
      utf8(entry.tenantId()),
      utf8(entry.beforeHash()),
      utf8(entry.afterHash()),
      utf8(entry.actorGroups())
    };
  }

  private static byte[] utf8(String text) {
    return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
  }
}
