package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** The tenant's database credentials as the operator last set them (never the password). */
public class TenantDatabaseStatus {

  @JsonPropertyDescription("The login role whose credentials are in the Secret.")
  private String role;

  @JsonPropertyDescription(
      "The Secret in the tenant's namespace with the role's JDBC URL, username and password.")
  private String secret;

  @JsonPropertyDescription(
      "The role that held the Secret before the last rotation, valid until previousValidUntil.")
  private String previousRole;

  @JsonPropertyDescription("When the previous role stops logging in (RFC 3339).")
  private String previousValidUntil;

  @JsonPropertyDescription("The spec's credentialsRotation value the current credentials answer.")
  private String credentialsRotation;

  public String getRole() {
    return role;
  }

  public void setRole(String role) {
    this.role = role;
  }

  public String getSecret() {
    return secret;
  }

  public void setSecret(String secret) {
    this.secret = secret;
  }

  public String getPreviousRole() {
    return previousRole;
  }

  public void setPreviousRole(String previousRole) {
    this.previousRole = previousRole;
  }

  public String getPreviousValidUntil() {
    return previousValidUntil;
  }

  public void setPreviousValidUntil(String previousValidUntil) {
    this.previousValidUntil = previousValidUntil;
  }

  public String getCredentialsRotation() {
    return credentialsRotation;
  }

  public void setCredentialsRotation(String credentialsRotation) {
    this.credentialsRotation = credentialsRotation;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantDatabaseStatus other
        && Objects.equals(role, other.role)
        && Objects.equals(secret, other.secret)
        && Objects.equals(previousRole, other.previousRole)
        && Objects.equals(previousValidUntil, other.previousValidUntil)
        && Objects.equals(credentialsRotation, other.credentialsRotation);
  }

  @Override
  public int hashCode() {
    return Objects.hash(role, secret, previousRole, previousValidUntil, credentialsRotation);
  }
}
