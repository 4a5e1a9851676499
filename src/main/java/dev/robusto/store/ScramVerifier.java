package dev.robusto.store;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * PostgreSQL's SCRAM-SHA-256 password verifier (RFC 5802/7677), computed here so the plaintext
 * password is never part of an SQL statement, where server logs could catch it.
 */
public final class ScramVerifier {

  private static final int ITERATIONS = 4096;
  private static final SecureRandom RANDOM = new SecureRandom();

  private ScramVerifier() {}

  public static String of(String password) {
    var salt = new byte[16];
    RANDOM.nextBytes(salt);
    return of(password, salt, ITERATIONS);
  }

  static String of(String password, byte[] salt, int iterations) {
    try {
      var salted =
          SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
              .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256))
              .getEncoded();
      var clientKey = hmac(salted, "Client Key");
      var storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
      var serverKey = hmac(salted, "Server Key");
      var b64 = Base64.getEncoder();
      return "SCRAM-SHA-256$%d:%s$%s:%s"
          .formatted(
              iterations,
              b64.encodeToString(salt),
              b64.encodeToString(storedKey),
              b64.encodeToString(serverKey));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2 and HMAC-SHA256 are part of every JRE", e);
    }
  }

  /** A random password: 32 characters, URL-safe. */
  public static String newPassword() {
    var bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static byte[] hmac(byte[] key, String message) throws GeneralSecurityException {
    var mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
  }
}
