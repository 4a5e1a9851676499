package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Someone given edit rights in the tenant's namespace (an RBAC subject). */
@ValidationRule(
    value = "self.kind != 'ServiceAccount' || has(self.__namespace__)",
    message = "an owner of kind ServiceAccount needs the namespace the service account lives in")
@ValidationRule(
    value = "self.kind == 'ServiceAccount' || !has(self.__namespace__)",
    message = "namespace is only for owners of kind ServiceAccount")
public class TenantOwner {

  public enum Kind {
    User,
    Group,
    ServiceAccount
  }

  @Required
  @JsonPropertyDescription("User, Group or ServiceAccount.")
  private Kind kind;

  @Required
  @Size(min = 1, max = 253)
  @JsonPropertyDescription("The user's, group's or service account's name.")
  private String name;

  @Pattern(TenantSpec.DNS_1123_LABEL)
  @JsonPropertyDescription("The service account's namespace (ServiceAccount owners only).")
  private String namespace;

  public TenantOwner() {}

  public TenantOwner(Kind kind, String name, String namespace) {
    this.kind = kind;
    this.name = name;
    this.namespace = namespace;
  }

  public Kind getKind() {
    return kind;
  }

  public void setKind(Kind kind) {
    this.kind = kind;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }
}
