package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@ValidationRule(
    value =
        "self.tier != 'custom' || (has(self.limits) && has(self.limits.maxConcurrentJobs)"
            + " && has(self.limits.maxDailyJobs))",
    message = "tier 'custom' has no defaults: set limits.maxConcurrentJobs and limits.maxDailyJobs")
@ValidationRule(
    value = "has(self.__namespace__) == has(oldSelf.__namespace__)",
    message = "namespace cannot be added or removed after creation; create a new Tenant instead")
public class TenantSpec {

  static final String DNS_1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

  @Required
  @JsonPropertyDescription("Service tier; enterprise and startup carry default limits.")
  private Tier tier;

  @Pattern(DNS_1123_LABEL)
  @Size(max = 63)
  @ValidationRule(
      value = "self == oldSelf",
      message = "namespace is immutable; create a new Tenant to move a tenant")
  @ValidationRule(
      value = "self != 'default' && !self.startsWith('kube-')",
      message = "namespace cannot be 'default' or a kube-* system namespace")
  @JsonPropertyDescription("Namespace for the tenant's workloads. Default: tenant-<name>.")
  private String namespace;

  @Size(max = 64)
  @JsonPropertyDescription("People and service accounts given edit rights in the namespace.")
  private List<TenantOwner> owners = new ArrayList<>();

  @ValidationRule(
      value =
          "!has(self.maxConcurrentJobs) || !has(self.maxDailyJobs)"
              + " || self.maxConcurrentJobs <= self.maxDailyJobs",
      message = "maxConcurrentJobs cannot exceed maxDailyJobs")
  @JsonPropertyDescription("Job limits; unset fields take the tier's defaults.")
  private TenantLimits limits;

  @JsonPropertyDescription(
      "ResourceQuota hard limits (for example cpu, memory, pods, count/jobs.batch);"
          + " they override the tier's defaults key by key.")
  private Map<String, Quantity> resources = new LinkedHashMap<>();

  @JsonPropertyDescription("Container defaults and maximums for the namespace's LimitRange.")
  private LimitRangeSpec limitRange;

  @Default("true")
  @JsonPropertyDescription("Deny ingress from other tenants' namespaces. Default: true.")
  private Boolean isolation = true;

  @Default("false")
  @JsonPropertyDescription("A suspended tenant keeps its data but may start no pods or jobs.")
  private Boolean suspended = false;

  @JsonPropertyDescription("The tenant's PostgreSQL role, credential rotation and data retention.")
  private TenantDatabaseSpec database = new TenantDatabaseSpec();

  @JsonPropertyDescription("What the tenant is charged; unset fields take the tier's prices.")
  private TenantBilling billing;

  public Tier getTier() {
    return tier;
  }

  public void setTier(Tier tier) {
    this.tier = tier;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }

  public List<TenantOwner> getOwners() {
    return owners;
  }

  public void setOwners(List<TenantOwner> owners) {
    this.owners = owners == null ? new ArrayList<>() : owners;
  }

  public TenantLimits getLimits() {
    return limits;
  }

  public void setLimits(TenantLimits limits) {
    this.limits = limits;
  }

  public Map<String, Quantity> getResources() {
    return resources;
  }

  public void setResources(Map<String, Quantity> resources) {
    this.resources = resources == null ? new LinkedHashMap<>() : resources;
  }

  public LimitRangeSpec getLimitRange() {
    return limitRange;
  }

  public void setLimitRange(LimitRangeSpec limitRange) {
    this.limitRange = limitRange;
  }

  /** Whether isolation applies; absent means on. */
  public boolean enforcesIsolation() {
    return isolation == null || isolation;
  }

  public Boolean getIsolation() {
    return isolation;
  }

  public void setIsolation(Boolean isolation) {
    this.isolation = isolation;
  }

  public boolean suspendedNow() {
    return suspended != null && suspended;
  }

  public TenantDatabaseSpec getDatabase() {
    return database;
  }

  public void setDatabase(TenantDatabaseSpec database) {
    this.database = database == null ? new TenantDatabaseSpec() : database;
  }

  public TenantBilling getBilling() {
    return billing;
  }

  public void setBilling(TenantBilling billing) {
    this.billing = billing;
  }

  public Boolean getSuspended() {
    return suspended;
  }

  public void setSuspended(Boolean suspended) {
    this.suspended = suspended;
  }
}
