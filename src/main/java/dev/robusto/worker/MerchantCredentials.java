package dev.robusto.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * A Merchant's two credentials, primary and fallback, as files of its Secret's volume (the kubelet
 * refreshes them when the Secret changes, so a rotation reaches running workers). Calls use the
 * credential in use, primary at first; a refusal by the portal reads the files again and switches
 * to the other, so a credential rotates with no failed call: put the new one in fallback, switch
 * the portal, then move it to primary. Never logs or returns a value but to the caller.
 */
final class MerchantCredentials {

  /** Where the Secret's keys are mounted in a worker pod. */
  static final Path MOUNT = Path.of("/var/run/robusto/merchant");

  static final String PRIMARY = "primary";
  static final String FALLBACK = "fallback";

  /** Visible ASCII and inner spaces: what a header value may hold. */
  private static final java.util.regex.Pattern HEADER_VALUE =
      java.util.regex.Pattern.compile("^[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?$");

  /**
   * After the portal refused both, how long calls wait for another credential before one more try
   * with the same: refused credentials are not sent over and over (a portal may lock them out).
   */
  static final long WAIT_AFTER_REFUSAL_NANOS = 60_000_000_000L;

  /** How long files read stay fresh: the kubelet itself refreshes a Secret's volume lazily. */
  private static final long RELOAD_NANOS = 10_000_000_000L;

  /** One credential: which key it came from and its value. */
  record Credential(String key, String value) {
    @Override
    public String toString() {
      return key; // never the value
    }
  }

  private final Path directory;
  private final LongSupplier nanoTime;
  private String primary;
  private String fallback;
  private long loadedAt;
  private boolean loaded;
  private String inUse = PRIMARY;
  private String acceptedValue;
  private boolean bothRefused;
  private long refusedAt;
  private String refusedPrimary;
  private String refusedFallback;

  MerchantCredentials(Path directory, LongSupplier nanoTime) {
    this.directory = directory;
    this.nanoTime = nanoTime;
  }

  /**
   * The credential to call with; empty when the Secret holds neither key, or while both were
   * refused and the Secret has not changed since (for {@link #WAIT_AFTER_REFUSAL_NANOS}).
   */
  synchronized Optional<Credential> current() {
    if (!loaded || nanoTime.getAsLong() - loadedAt > RELOAD_NANOS) {
      reload();
    }
    if (bothRefused) {
      var changed =
          !java.util.Objects.equals(primary, refusedPrimary)
              || !java.util.Objects.equals(fallback, refusedFallback);
      if (!changed && nanoTime.getAsLong() - refusedAt < WAIT_AFTER_REFUSAL_NANOS) {
        return Optional.empty();
      }
      if (changed) {
        bothRefused = false;
      }
    }
    var value = value(inUse);
    if (value == null) {
      inUse = other(inUse);
      value = value(inUse);
    }
    return value == null ? Optional.empty() : Optional.of(new Credential(inUse, value));
  }

  /**
   * The portal refused {@code refused}: the files are read again and the other credential is
   * returned, or empty when there is none that differs (both refused).
   */
  synchronized Optional<Credential> refused(Credential refused) {
    reload();
    var otherKey = other(refused.key());
    var otherValue = value(otherKey);
    if (otherValue == null || otherValue.equals(refused.value())) {
      var same = value(refused.key());
      if (same != null && !same.equals(refused.value())) {
        // The refused key itself changed since: a rotation just reached this worker.
        return Optional.of(new Credential(refused.key(), same));
      }
      bothRefused();
      return Optional.empty();
    }
    inUse = otherKey;
    return Optional.of(new Credential(otherKey, otherValue));
  }

  /** The portal refused the other credential too: calls wait for a new one. */
  synchronized void bothRefused() {
    bothRefused = true;
    refusedAt = nanoTime.getAsLong();
    refusedPrimary = primary;
    refusedFallback = fallback;
  }

  /** A call with {@code credential} was accepted. */
  synchronized void accepted(Credential credential) {
    inUse = credential.key();
    acceptedValue = credential.value();
    bothRefused = false;
  }

  /** For the Merchant's status: primary, fallback, missing or refused. */
  synchronized String state() {
    if (!loaded) {
      reload();
    }
    if (primary == null && fallback == null) {
      return "missing";
    }
    return bothRefused ? "refused" : inUse;
  }

  private void reload() {
    primary = read(PRIMARY);
    fallback = read(FALLBACK);
    loaded = true;
    loadedAt = nanoTime.getAsLong();
    // Once the accepted value has moved to primary (the rotation's last step), call it that.
    if (acceptedValue != null && acceptedValue.equals(primary)) {
      inUse = PRIMARY;
    }
  }

  /**
   * A key's value, or null when the file is missing, empty, or holds what no HTTP header can carry
   * (a line break, a control character): such a value is never sent, so it never shows in an error
   * either.
   */
  private String read(String key) {
    try {
      var value = Files.readString(directory.resolve(key), StandardCharsets.UTF_8).strip();
      return value.isEmpty() || !HEADER_VALUE.matcher(value).matches() ? null : value;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private String value(String key) {
    return PRIMARY.equals(key) ? primary : fallback;
  }

  private static String other(String key) {
    return PRIMARY.equals(key) ? FALLBACK : PRIMARY;
  }
}
