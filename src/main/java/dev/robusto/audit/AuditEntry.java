package dev.robusto.audit;

/**
 * One change the operator made, or one a user asked the Kubernetes API for. States are recorded as
 * hashes only, so a secret that was part of a state never reaches the audit log.
 *
 * @param actor who made the change, e.g. {@code robusto-operator/tenant}, or who asked for it, e.g.
 *     {@code kube:alice}
 * @param action create, update, delete, rotate, retain, erase or export
 * @param resource what changed, e.g. {@code ResourceQuota/tenant-acme/tenant-quota} or {@code
 *     postgres-role/t_acme_a}
 * @param tenantId the tenant it belongs to, or null
 * @param beforeHash sha256 of the state before, null for a create
 * @param afterHash sha256 of the state after, null for a delete
 * @param actorGroups the groups the API server authenticated the actor with, sorted, as a JSON
 *     array (recorded at admission: a group name may hold any character), or null
 */
public record AuditEntry(
    String actor,
    String action,
    String resource,
    String tenantId,
    String beforeHash,
    String afterHash,
    String actorGroups) {

  /** An entry whose actor is known by name only. */
  public AuditEntry(
      String actor,
      String action,
      String resource,
      String tenantId,
      String beforeHash,
      String afterHash) {
    this(actor, action, resource, tenantId, beforeHash, afterHash, null);
  }
}
