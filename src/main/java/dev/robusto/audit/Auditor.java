package dev.robusto.audit;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import java.util.TreeMap;

/**
 * One actor's way into the audit log: every entry names it, names resources the one way ({@link
 * #resource}), and holds states only as hashes of one canonical form ({@link #state}), so no secret
 * that was part of a state reaches the log and the same state always hashes the same.
 */
public record Auditor(AuditLog log, String actor) {

  /**
   * Appends a change: {@code before} and {@code after} are states (null: none), never hashed yet.
   */
  public void record(String action, String resource, String tenantId, String before, String after) {
    log.append(entry(actor, action, resource, tenantId, before, after));
  }

  /** The entry {@link #record} appends, for a caller that appends several in one commit. */
  public static AuditEntry entry(
      String actor, String action, String resource, String tenantId, String before, String after) {
    return new AuditEntry(
        actor,
        action,
        resource,
        tenantId,
        AuditCanonical.stateHash(before),
        AuditCanonical.stateHash(after));
  }

  /** A Kubernetes object as the audit log names it: Kind/namespace/name, or Kind/name. */
  public static String resource(HasMetadata object) {
    var namespace = object.getMetadata().getNamespace();
    return namespace == null
        ? object.getKind() + "/" + object.getMetadata().getName()
        : "%s/%s/%s".formatted(object.getKind(), namespace, object.getMetadata().getName());
  }

  /**
   * A Kubernetes object's state: its content without metadata and status (which change on every
   * write), as JSON with sorted keys. Null for none.
   */
  @SuppressWarnings("unchecked")
  public static String state(HasMetadata object) {
    if (object == null) {
      return null;
    }
    var content = Serialization.jsonMapper().convertValue(object, Map.class);
    content.remove("metadata");
    content.remove("status");
    return Serialization.asJson(new TreeMap<>(content));
  }
}
