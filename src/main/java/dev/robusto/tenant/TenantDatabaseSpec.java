package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;

/** The tenant's PostgreSQL identity. */
public class TenantDatabaseSpec {

  public enum OnDelete {
    Retain,
    Erase
  }

  @Default("Retain")
  @JsonPropertyDescription(
      "What happens to the tenant's rows when the Tenant is deleted: Retain (default) or Erase."
          + " Its database roles are dropped either way.")
  private OnDelete onDelete = OnDelete.Retain;

  @Size(max = 63)
  @JsonPropertyDescription(
      "Change this value (for example to a date) to rotate the database password. The previous"
          + " credential stays valid for the operator's grace period, so running workers keep"
          + " working while they pick up the new Secret.")
  private String credentialsRotation;

  @JsonPropertyDescription(
      "Take over the rows a deleted Tenant of the same name retained (onDelete: Retain). Without"
          + " it such a Tenant reports RetainedRowsConflict and nothing is provisioned: a name"
          + " reused by someone else never inherits another tenant's tickets.")
  private boolean adoptRetained;

  public boolean isAdoptRetained() {
    return adoptRetained;
  }

  public void setAdoptRetained(boolean adoptRetained) {
    this.adoptRetained = adoptRetained;
  }

  public OnDelete getOnDelete() {
    return onDelete;
  }

  public void setOnDelete(OnDelete onDelete) {
    this.onDelete = onDelete == null ? OnDelete.Retain : onDelete;
  }

  public String getCredentialsRotation() {
    return credentialsRotation;
  }

  public void setCredentialsRotation(String credentialsRotation) {
    this.credentialsRotation = credentialsRotation;
  }
}
