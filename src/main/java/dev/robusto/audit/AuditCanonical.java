package dev.robusto.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The canonical form of an audit row and its chain hash, rebuilt from the columns independently of
 * the database. Must stay byte-identical to {@code audit_canonical} (V3__audit_log.sql, V23): each
 * field is {@code <length>:<value>} or {@code -} for NULL, joined by {@code |}; the actor's groups
 * follow only when recorded, so rows written before V23 keep their hashes.
 */
public final class AuditCanonical {

  private AuditCanonical() {}

  /** The canonical form of {@code entry} as the row numbered {@code seq}, appended at a time. */
  static String canonical(long seq, long atEpochMicros, AuditEntry entry) {
    var out = new StringBuilder(160);
    field(out, Long.toString(seq)).append('|');
    field(out, Long.toString(atEpochMicros)).append('|');
    field(out, entry.actor()).append('|');
    field(out, entry.action()).append('|');
    field(out, entry.resource()).append('|');
    field(out, entry.tenantId()).append('|');
    field(out, entry.beforeHash()).append('|');
    field(out, entry.afterHash());
    if (entry.actorGroups() != null) {
      field(out.append('|'), entry.actorGroups());
    }
    return out.toString();
  }

  /** sha256(prevHash || canonical), hex, as the database's trigger computes it. */
  static String chainHash(MessageDigest sha256, String prevHash, String canonical) {
    sha256.reset();
    sha256.update(prevHash.getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(sha256.digest(canonical.getBytes(StandardCharsets.UTF_8)));
  }

  /** The sha256 of a state, for the before/after columns. */
  public static String stateHash(String state) {
    if (state == null) {
      return null;
    }
    return HexFormat.of().formatHex(sha256().digest(state.getBytes(StandardCharsets.UTF_8)));
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JRE", e);
    }
  }

  private static StringBuilder field(StringBuilder out, String value) {
    // Length in characters, as PostgreSQL's length(text) counts them.
    return value == null
        ? out.append('-')
        : out.append(value.codePointCount(0, value.length())).append(':').append(value);
  }
}
