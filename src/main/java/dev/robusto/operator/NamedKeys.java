package dev.robusto.operator;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A list of keys as a setting gives them, {@code id:base64,...}, the first the current one: the
 * audit chain's seal keys and the platform's payload keys rotate the same way, with two live.
 */
public final class NamedKeys {

  /** One key; its bytes never reach a log line. */
  public record NamedKey(String id, byte[] secret) {
    @Override
    public String toString() {
      return id;
    }
  }

  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
  private static final int MIN_KEY_BYTES = 32;

  private NamedKeys() {}

  /**
   * Parses {@code id:base64,...}; blank means none. {@code setting} names where the keys came from,
   * for the error a person reads.
   */
  public static List<NamedKey> parse(String setting, String spec) {
    var keys = new ArrayList<NamedKey>();
    if (spec == null || spec.isBlank()) {
      return keys;
    }
    var ids = new HashSet<String>();
    for (var entry : spec.split(",")) {
      var parts = entry.strip().split(":", 2);
      if (parts.length != 2 || !ID.matcher(parts[0]).matches()) {
        throw new IllegalArgumentException(
            setting
                + ": each key is id:base64, the id lowercase letters, digits and '-' (up to 32),"
                + " e.g. k2:<32 random bytes in base64>,k1:<the previous key>");
      }
      byte[] secret;
      try {
        secret = Base64.getDecoder().decode(parts[1].strip());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(setting + ": key " + parts[0] + " is not base64", e);
      }
      if (secret.length < MIN_KEY_BYTES) {
        throw new IllegalArgumentException(
            "%s: key %s has %d bytes; give at least %d (openssl rand -base64 32)"
                .formatted(setting, parts[0], secret.length, MIN_KEY_BYTES));
      }
      if (!ids.add(parts[0])) {
        throw new IllegalArgumentException(setting + ": key id " + parts[0] + " twice");
      }
      keys.add(new NamedKey(parts[0], secret));
    }
    return keys;
  }
}
