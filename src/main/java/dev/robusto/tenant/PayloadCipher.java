package dev.robusto.tenant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a ticket's payload is sealed at rest: AES-256-GCM under one of its tenant's data keys, kept
 * as the JSON object {@code {"robusto.dev/sealed": {"key": <version>, "iv": ..., "data": ...}}} in
 * the same jsonb columns, so the queue's functions move it unchanged. The tenant and the key's
 * version are authenticated with it: a sealed payload copied to another tenant's row does not open.
 * Data keys are wrapped the same way, under the platform's key for the operator and under the
 * tenant's own payload key for its workers. Used by the operator and by workers alike.
 */
public final class PayloadCipher {

  /** The one field of a sealed payload; a payload of the clear may not have it. */
  public static final String FIELD = "robusto.dev/sealed";

  /** A data key's length in bytes (AES-256). */
  public static final int KEY_BYTES = 32;

  private static final int IV_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A sealed payload's parts. */
  public record Sealed(int version, byte[] iv, byte[] data) {}

  /** A payload that cannot be read: what is missing, in words, never its content. */
  public static final class UnreadablePayloadException extends Exception {
    public UnreadablePayloadException(String message) {
      super(message);
    }
  }

  private PayloadCipher() {}

  /** A new random key (a data key or a tenant's payload key). */
  public static byte[] newKey() {
    var key = new byte[KEY_BYTES];
    RANDOM.nextBytes(key);
    return key;
  }

  /** A key's id, for telling which key wrapped what: not the key, and not reversible to it. */
  public static String keyId(byte[] key) {
    try {
      var digest = MessageDigest.getInstance("SHA-256");
      digest.update("robusto-payload-key-id:".getBytes(StandardCharsets.US_ASCII));
      return HexFormat.of().formatHex(digest.digest(key), 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is part of every JRE", e);
    }
  }

  /**
   * The payload's sealed parts, or empty for a payload in the clear. A payload that names {@link
   * #FIELD} but is not a well-formed sealed payload is unreadable.
   */
  public static Optional<Sealed> sealed(String json) throws UnreadablePayloadException {
    if (json == null || !json.contains(FIELD)) {
      return Optional.empty();
    }
    try {
      var node = JSON.readTree(json);
      if (!node.isObject() || !node.has(FIELD)) {
        return Optional.empty();
      }
      var sealed = node.get(FIELD);
      if (node.size() != 1
          || !sealed.path("key").canConvertToInt()
          || !sealed.path("iv").isTextual()
          || !sealed.path("data").isTextual()) {
        throw new UnreadablePayloadException("the payload is not a well-formed sealed payload");
      }
      return Optional.of(
          new Sealed(
              sealed.get("key").intValue(),
              Base64.getDecoder().decode(sealed.get("iv").textValue()),
              Base64.getDecoder().decode(sealed.get("data").textValue())));
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new UnreadablePayloadException("the payload is not a well-formed sealed payload");
    }
  }

  /** Whether a payload of the clear would be taken for a sealed one (it may not be queued). */
  public static boolean reserved(com.fasterxml.jackson.databind.JsonNode payload) {
    return payload != null && payload.isObject() && payload.has(FIELD);
  }

  /** {@code json} sealed under data key {@code version} of {@code tenantId}. */
  public static String seal(byte[] dataKey, int version, String tenantId, String json) {
    var iv = new byte[IV_BYTES];
    RANDOM.nextBytes(iv);
    var data =
        crypt(
            Cipher.ENCRYPT_MODE,
            dataKey,
            iv,
            payloadContext(tenantId, version),
            json.getBytes(StandardCharsets.UTF_8));
    ObjectNode sealed = JSON.createObjectNode();
    sealed
        .putObject(FIELD)
        .put("key", version)
        .put("iv", Base64.getEncoder().encodeToString(iv))
        .put("data", Base64.getEncoder().encodeToString(data));
    return sealed.toString();
  }

  /** The payload {@code sealed} holds, opened with the data key of its version. */
  public static String open(byte[] dataKey, Sealed sealed, String tenantId)
      throws UnreadablePayloadException {
    try {
      return new String(
          decrypt(dataKey, sealed.iv(), payloadContext(tenantId, sealed.version()), sealed.data()),
          StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw new UnreadablePayloadException(
          "the payload does not open with data key %d of tenant %s"
              .formatted(sealed.version(), tenantId));
    }
  }

  /** {@code dataKey} wrapped by {@code wrappingKey}, bound to {@code context}: the iv, then it. */
  public static byte[] wrap(byte[] wrappingKey, byte[] dataKey, String context) {
    var iv = new byte[IV_BYTES];
    RANDOM.nextBytes(iv);
    var wrapped = crypt(Cipher.ENCRYPT_MODE, wrappingKey, iv, context, dataKey);
    return ByteBuffer.allocate(IV_BYTES + wrapped.length).put(iv).put(wrapped).array();
  }

  /** The data key {@link #wrap} wrapped; fails when the key or the context is another. */
  public static byte[] unwrap(byte[] wrappingKey, byte[] wrapped, String context)
      throws GeneralSecurityException {
    if (wrapped.length <= IV_BYTES) {
      throw new GeneralSecurityException("a wrapped key too short");
    }
    var iv = java.util.Arrays.copyOf(wrapped, IV_BYTES);
    var data = java.util.Arrays.copyOfRange(wrapped, IV_BYTES, wrapped.length);
    return decrypt(wrappingKey, iv, context, data);
  }

  /** What a tenant's data key is bound to when wrapped. */
  public static String dataKeyContext(String tenantId, int version) {
    return "robusto-data-key:" + tenantId + ":" + version;
  }

  private static String payloadContext(String tenantId, int version) {
    return "robusto-payload:" + tenantId + ":" + version;
  }

  private static byte[] crypt(int mode, byte[] key, byte[] iv, String context, byte[] input) {
    try {
      return cipher(mode, key, iv, context).doFinal(input);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM failed to encrypt", e);
    }
  }

  private static byte[] decrypt(byte[] key, byte[] iv, String context, byte[] input)
      throws GeneralSecurityException {
    return cipher(Cipher.DECRYPT_MODE, key, iv, context).doFinal(input);
  }

  private static Cipher cipher(int mode, byte[] key, byte[] iv, String context)
      throws GeneralSecurityException {
    var cipher = Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, iv));
    cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
    return cipher;
  }
}
