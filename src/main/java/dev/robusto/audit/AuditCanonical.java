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

  /**
   * Checks rows' chain hashes from their columns as PostgreSQL sends them (UTF-8 bytes): the same
   * canonical form as {@link #canonical}, byte for byte, built without decoding and re-encoding
   * each column, in one buffer reused row after row. For one thread.
   */
  static final class RowHasher {
    /** The hashed columns after seq and time: actor to after_hash, then the actor's groups. */
    static final int COLUMNS = 7;

    private final MessageDigest sha256 = sha256();
    private final byte[] digest = new byte[32];
    private byte[] buffer = new byte[512];
    private int length;

    /** Whether sha256(prevHash || canonical) is {@code hash}, lower-case hex as stored. */
    boolean matches(long seq, long atEpochMicros, byte[][] columns, byte[] prevHash, byte[] hash) {
      length = 0;
      number(seq);
      put('|');
      number(atEpochMicros);
      for (int i = 0; i < COLUMNS - 1; i++) {
        put('|');
        field(columns[i]);
      }
      if (columns[COLUMNS - 1] != null) {
        put('|');
        field(columns[COLUMNS - 1]);
      }
      sha256.reset();
      sha256.update(prevHash);
      sha256.update(buffer, 0, length);
      try {
        sha256.digest(digest, 0, digest.length);
      } catch (java.security.DigestException e) {
        throw new IllegalStateException("a SHA-256 digest is 32 bytes", e);
      }
      return hexEquals(digest, hash);
    }

    private void field(byte[] value) {
      if (value == null) {
        put('-');
        return;
      }
      // Characters, as length(text) counts them: every UTF-8 byte but continuation bytes.
      int characters = 0;
      for (var b : value) {
        if ((b & 0xC0) != 0x80) {
          characters++;
        }
      }
      var count = Integer.toString(characters);
      ensure(count.length() + 1 + value.length);
      ascii(count);
      buffer[length++] = ':';
      System.arraycopy(value, 0, buffer, length, value.length);
      length += value.length;
    }

    /** A number as a field: its decimal digits, prefixed by their count. */
    private void number(long value) {
      var digits = Long.toString(value);
      var count = Integer.toString(digits.length());
      ensure(count.length() + 1 + digits.length());
      ascii(count);
      buffer[length++] = ':';
      ascii(digits);
    }

    private void ascii(String text) {
      for (int i = 0; i < text.length(); i++) {
        buffer[length++] = (byte) text.charAt(i);
      }
    }

    private void put(char c) {
      ensure(1);
      buffer[length++] = (byte) c;
    }

    private void ensure(int more) {
      if (length + more > buffer.length) {
        buffer = java.util.Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + more));
      }
    }
  }

  /**
   * Whether {@code hex} is {@code bytes} in lower-case hex, as PostgreSQL's encode(..., 'hex')
   * writes it; in time independent of where they differ (a seal is compared with it too).
   */
  static boolean hexEquals(byte[] bytes, byte[] hex) {
    if (hex == null || hex.length != bytes.length * 2) {
      return false;
    }
    int difference = 0;
    for (int i = 0; i < bytes.length; i++) {
      difference |= hex[2 * i] ^ HEX[(bytes[i] >> 4) & 0xF];
      difference |= hex[2 * i + 1] ^ HEX[bytes[i] & 0xF];
    }
    return difference == 0;
  }

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private static StringBuilder field(StringBuilder out, String value) {
    // Length in characters, as PostgreSQL's length(text) counts them.
    return value == null
        ? out.append('-')
        : out.append(value.codePointCount(0, value.length())).append(':').append(value);
  }
}
