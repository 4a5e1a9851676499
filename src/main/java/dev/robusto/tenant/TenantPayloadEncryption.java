package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Where the tenant's ticket payloads stand against its data keys (PayloadKeys). */
public class TenantPayloadEncryption {

  /** Every payload under the current data key. */
  public static final String CURRENT = "Current";

  /** Older payloads (or those of the clear) being re-encrypted under the current data key. */
  public static final String REENCRYPTING = "ReEncrypting";

  /** No platform key is configured: payloads are stored in the clear. */
  public static final String DISABLED = "Disabled";

  @JsonPropertyDescription(
      "Current, ReEncrypting (older payloads being re-encrypted under the current data key) or"
          + " Disabled (the operator has no robusto.payload.keys: payloads in the clear).")
  private String phase;

  @JsonPropertyDescription("The version of the tenant's data key new payloads are sealed under.")
  private Integer dataKeyVersion;

  @JsonPropertyDescription("The id of the platform key wrapping the current data key.")
  private String platformKey;

  @JsonPropertyDescription(
      "Payloads still under an older data key or in the clear; 0 when a rotation is complete.")
  private long pendingPayloads;

  @JsonPropertyDescription(
      "The platform keys the tenant's data keys are wrapped by. A platform key may leave the"
          + " Secret only when no Tenant lists it.")
  private List<String> platformKeysInUse = new ArrayList<>();

  public TenantPayloadEncryption() {}

  TenantPayloadEncryption(
      int dataKeyVersion, String platformKey, long pendingPayloads, List<String> inUse) {
    this.phase = pendingPayloads == 0 ? CURRENT : REENCRYPTING;
    this.dataKeyVersion = dataKeyVersion;
    this.platformKey = platformKey;
    this.pendingPayloads = pendingPayloads;
    this.platformKeysInUse = new ArrayList<>(inUse);
  }

  static TenantPayloadEncryption disabled(List<String> inUse) {
    var status = new TenantPayloadEncryption();
    status.phase = DISABLED;
    status.platformKeysInUse = new ArrayList<>(inUse);
    return status;
  }

  public String getPhase() {
    return phase;
  }

  public void setPhase(String phase) {
    this.phase = phase;
  }

  public Integer getDataKeyVersion() {
    return dataKeyVersion;
  }

  public void setDataKeyVersion(Integer dataKeyVersion) {
    this.dataKeyVersion = dataKeyVersion;
  }

  public String getPlatformKey() {
    return platformKey;
  }

  public void setPlatformKey(String platformKey) {
    this.platformKey = platformKey;
  }

  public long getPendingPayloads() {
    return pendingPayloads;
  }

  public void setPendingPayloads(long pendingPayloads) {
    this.pendingPayloads = pendingPayloads;
  }

  public List<String> getPlatformKeysInUse() {
    return platformKeysInUse;
  }

  public void setPlatformKeysInUse(List<String> platformKeysInUse) {
    this.platformKeysInUse = platformKeysInUse;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantPayloadEncryption other
        && pendingPayloads == other.pendingPayloads
        && Objects.equals(phase, other.phase)
        && Objects.equals(dataKeyVersion, other.dataKeyVersion)
        && Objects.equals(platformKey, other.platformKey)
        && Objects.equals(platformKeysInUse, other.platformKeysInUse);
  }

  @Override
  public int hashCode() {
    return Objects.hash(phase, dataKeyVersion, platformKey, pendingPayloads, platformKeysInUse);
  }
}
