package dev.robusto.worker;

import dev.robusto.tenant.PayloadCipher;
import dev.robusto.tenant.PayloadCipher.UnreadablePayloadException;
import java.security.GeneralSecurityException;
import java.sql.SQLException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Opens the sealed payloads a worker claims (dev.robusto.tenant.PayloadKeys seals them): its
 * tenant's data keys come from the database through robusto_worker_payload_keys(), wrapped under
 * the tenant's payload key (ROBUSTO_PAYLOAD_KEY, from the tenant's Secret). A version it does not
 * hold yet, a rotation's new key, is fetched again, so a rotation reaches a worker while it runs.
 */
final class SealedPayloads {

  private final DataSource dataSource;
  private final Optional<byte[]> payloadKey;
  private final Map<Integer, byte[]> dataKeys = new ConcurrentHashMap<>();
  private volatile String tenantId;

  /** {@code payloadKey}: the tenant's payload key in base64, or empty when it has none. */
  SealedPayloads(DataSource dataSource, Optional<String> payloadKey) {
    this.dataSource = dataSource;
    this.payloadKey =
        payloadKey.filter(k -> !k.isBlank()).map(k -> Base64.getDecoder().decode(k.strip()));
  }

  /** The payload as its tenant gave it. */
  String open(String json) throws SQLException, UnreadablePayloadException {
    var sealed = PayloadCipher.sealed(json);
    if (sealed.isEmpty()) {
      return json;
    }
    var version = sealed.get().version();
    var key = dataKeys.get(version);
    if (key == null) {
      fetch();
      key = dataKeys.get(version);
      if (key == null) {
        throw new UnreadablePayloadException(
            "the tenant's data key %d is not available to its workers yet".formatted(version));
      }
    }
    return PayloadCipher.open(key, sealed.get(), tenantId);
  }

  private void fetch() throws SQLException, UnreadablePayloadException {
    if (payloadKey.isEmpty()) {
      throw new UnreadablePayloadException(
          "the payload is encrypted and this worker has no ROBUSTO_PAYLOAD_KEY (key "
              + dev.robusto.tenant.PayloadKeys.WORKER_KEY
              + " of the tenant's Secret)");
    }
    var workerKeyId = PayloadCipher.keyId(payloadKey.get());
    try (var c = dataSource.getConnection();
        var keys = c.prepareStatement("SELECT * FROM robusto_worker_payload_keys()");
        var rs = keys.executeQuery()) {
      while (rs.next()) {
        tenantId = rs.getString(1);
        var version = rs.getInt(2);
        if (dataKeys.containsKey(version) || !workerKeyId.equals(rs.getString(3))) {
          continue;
        }
        try {
          dataKeys.put(
              version,
              PayloadCipher.unwrap(
                  payloadKey.get(),
                  rs.getBytes(4),
                  PayloadCipher.dataKeyContext(tenantId, version)));
        } catch (GeneralSecurityException e) {
          throw new UnreadablePayloadException(
              "the tenant's data key %d does not open with this worker's payload key"
                  .formatted(version));
        }
      }
    }
  }
}
