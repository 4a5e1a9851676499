package dev.robusto.audit;

import dev.robusto.operator.NamedKeys;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys that seal the audit chain ({@code robusto.audit.seal-keys}: {@code id:base64,...}, from
 * a Kubernetes Secret). The first seals new rows; every one is accepted when verifying, so a key
 * rotates with two live: the new one first, the old one kept until every row is re-sealed under the
 * new ({@link AuditSealing}). A seal is HMAC-SHA256(key, "seq:hash"): the database never sees a
 * key, so whoever rewrites the chain there cannot seal the rewrite.
 */
public final class AuditKeys {

  public static final AuditKeys NONE = new AuditKeys(List.of(), 1);

  private record Key(String id, SecretKeySpec secret) {}

  private final List<Key> keys;
  private final long sealedFrom;

  private AuditKeys(List<Key> keys, long sealedFrom) {
    this.keys = List.copyOf(keys);
    this.sealedFrom = sealedFrom;
  }

  /**
   * The same keys, for a chain whose rows before {@code seq} were appended before it was sealed
   * ({@code robusto.audit.sealed-from}: set once, on the upgrade that brought seals). It is kept
   * outside the database: a boundary found there could be moved by whoever deletes seals.
   */
  public AuditKeys sealedFrom(long seq) {
    if (seq < 1) {
      throw new IllegalArgumentException("robusto.audit.sealed-from: a row number, 1 or more");
    }
    return new AuditKeys(keys, seq);
  }

  /** The first row that must carry a seal (1: every row). */
  public long sealedFrom() {
    return sealedFrom;
  }

  /** Parses {@code id:base64,...}; blank means no keys (an unsealed chain). */
  public static AuditKeys parse(String spec) {
    var keys =
        NamedKeys.parse("robusto.audit.seal-keys", spec).stream()
            .map(k -> new Key(k.id(), new SecretKeySpec(k.secret(), "HmacSHA256")))
            .toList();
    return keys.isEmpty() ? NONE : new AuditKeys(keys, 1);
  }

  public boolean sealing() {
    return !keys.isEmpty();
  }

  /** The id of the key new rows are sealed with. */
  public String currentId() {
    if (keys.isEmpty()) {
      throw new IllegalStateException("no audit seal key");
    }
    return keys.get(0).id();
  }

  public List<String> ids() {
    return keys.stream().map(Key::id).toList();
  }

  /** A sealer for one thread: {@link Mac} instances are not thread-safe, and costly to make. */
  public Macs macs() {
    return new Macs();
  }

  /** Ids only: a key never reaches a log line. */
  @Override
  public String toString() {
    return "AuditKeys" + ids();
  }

  /** HMACs under the live keys, for one thread. */
  public final class Macs {

    private final Mac[] macs = new Mac[keys.size()];

    private Macs() {
      try {
        for (int i = 0; i < macs.length; i++) {
          macs[i] = Mac.getInstance("HmacSHA256");
          macs[i].init(keys.get(i).secret());
        }
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("HmacSHA256 is part of every JRE", e);
      }
    }

    /** The id of the key {@link #seal} seals with: the current one. */
    public String keyId() {
      return keys.get(0).id();
    }

    /** The seal of row {@code seq} with chain hash {@code hash}, under the current key. */
    public String seal(long seq, String hash) {
      return mac(0, seq, hash);
    }

    /**
     * Whether {@code mac} seals row {@code seq} with {@code hash} under key {@code keyId}; null
     * when that key is not one of the live ones.
     */
    public Boolean matches(String keyId, long seq, String hash, String mac) {
      return matches(
          keyId,
          seq,
          hash.getBytes(StandardCharsets.UTF_8),
          mac == null ? null : mac.getBytes(StandardCharsets.UTF_8));
    }

    /** The same, given the hash and the seal as PostgreSQL sends them (their UTF-8 bytes). */
    Boolean matches(String keyId, long seq, byte[] hash, byte[] mac) {
      for (int i = 0; i < macs.length; i++) {
        if (keys.get(i).id().equals(keyId)) {
          macs[i].update(Long.toString(seq).getBytes(StandardCharsets.US_ASCII));
          macs[i].update((byte) ':');
          macs[i].update(hash);
          return AuditCanonical.hexEquals(macs[i].doFinal(), mac);
        }
      }
      return null;
    }

    private String mac(int key, long seq, String hash) {
      var input = (seq + ":" + hash).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(macs[key].doFinal(input));
    }
  }
}
