package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.robusto.operator.ConditionSchema;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

public class TenantStatus {

  @JsonPropertyDescription("The spec generation this status reflects.")
  private Long observedGeneration;

  @JsonPropertyDescription("The tenant's namespace, as created.")
  private String namespace;

  @JsonPropertyDescription("The limits in force: the tier's defaults with the spec's overrides.")
  private TenantLimits effectiveLimits;

  @JsonPropertyDescription("The tenant's PostgreSQL role and the Secret its workers log in with.")
  private TenantDatabaseStatus database;

  @JsonPropertyDescription("Today's and this month's usage against the limits, and its cost.")
  private TenantUsage usage;

  @JsonPropertyDescription(
      "Its ticket payloads' encryption at rest: the data key in use and a rotation's progress.")
  private TenantPayloadEncryption payloadEncryption;

  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription(ConditionSchema.DESCRIPTION)
  private List<Condition> conditions = new ArrayList<>();

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }

  public TenantLimits getEffectiveLimits() {
    return effectiveLimits;
  }

  public void setEffectiveLimits(TenantLimits effectiveLimits) {
    this.effectiveLimits = effectiveLimits;
  }

  public TenantDatabaseStatus getDatabase() {
    return database;
  }

  public void setDatabase(TenantDatabaseStatus database) {
    this.database = database;
  }

  public TenantUsage getUsage() {
    return usage;
  }

  public TenantPayloadEncryption getPayloadEncryption() {
    return payloadEncryption;
  }

  public void setPayloadEncryption(TenantPayloadEncryption payloadEncryption) {
    this.payloadEncryption = payloadEncryption;
  }

  public void setUsage(TenantUsage usage) {
    this.usage = usage;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions == null ? new ArrayList<>() : conditions;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantStatus other
        && Objects.equals(observedGeneration, other.observedGeneration)
        && Objects.equals(namespace, other.namespace)
        && Objects.equals(effectiveLimits, other.effectiveLimits)
        && Objects.equals(database, other.database)
        && Objects.equals(usage, other.usage)
        && Objects.equals(payloadEncryption, other.payloadEncryption)
        && Objects.equals(conditions, other.conditions);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        observedGeneration,
        namespace,
        effectiveLimits,
        database,
        usage,
        payloadEncryption,
        conditions);
  }
}
