package dev.robusto.tenant;

import java.security.SecureRandom;
import java.util.Base64;
import org.postgresql.util.PasswordUtil;

/**
 * Passwords for tenant roles, and their SCRAM-SHA-256 verifiers (computed by pgjdbc) which is what
 * is sent to PostgreSQL, so the plaintext password is never part of an SQL statement, where server
 * logs could catch it.
 */
public final class ScramVerifier {

  private static final SecureRandom RANDOM = new SecureRandom();

  private ScramVerifier() {}

  public static String of(String password) {
    return PasswordUtil.encodeScramSha256(password.toCharArray());
  }

  /** A random password: 32 characters, URL-safe. */
  public static String newPassword() {
    var bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
