package dev.robusto.api;

import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.queue.WorkQueue;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.sql.SQLException;

/**
 * A batch's controls over HTTP, shared by the batch API and the ticket API's jobs: each is a patch
 * of its spec (as kubectl would send it), sent once the caller's own access was checked; the
 * operator carries it out.
 */
final class BatchControls {

  /** A Kubernetes object name: anything else never reaches a request path. */
  private static final java.util.regex.Pattern NAME =
      java.util.regex.Pattern.compile("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$");

  private BatchControls() {}

  private static void checkName(String name) {
    if (name == null || name.length() > 253 || !NAME.matcher(name).matches()) {
      throw KubeAuth.refuse(400, "A job or batch is named by a Kubernetes name.", "name");
    }
  }

  /**
   * Asks for the batch's dead letters to be requeued: raises spec.redriveGeneration past the last
   * one carried out, only if nobody raised it meanwhile. Returns the generation asked for.
   */
  static long redrive(KubernetesClient client, String namespace, String name) {
    checkName(name);
    var batch = client.resources(AutomationBatch.class).inNamespace(namespace).withName(name).get();
    if (batch == null) {
      throw KubeAuth.refuse(404, "No batch %s in namespace %s.".formatted(name, namespace));
    }
    var asked = batch.getSpec().redriveGeneration == null ? 0L : batch.getSpec().redriveGeneration;
    var done =
        batch.getStatus() == null || batch.getStatus().redrivenGeneration == null
            ? 0L
            : batch.getStatus().redrivenGeneration;
    var next = Math.max(asked, done) + 1;
    // Only if nobody raised it meanwhile: two calls at once ask for one redrive, not two.
    var patch =
        "[{\"op\": \"test\", \"path\": \"/spec/redriveGeneration\", \"value\": %d},"
                .formatted(asked)
            + " {\"op\": \"replace\", \"path\": \"/spec/redriveGeneration\", \"value\": %d}]"
                .formatted(next);
    try {
      client
          .resources(AutomationBatch.class)
          .inNamespace(namespace)
          .withName(name)
          .patch(PatchContext.of(PatchType.JSON), patch);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 422 || e.getCode() == 409) {
        throw KubeAuth.refuse(
            409,
            "spec.redriveGeneration changed while this redrive was asked (another one was): read"
                + " the batch's status.redrivenGeneration before asking again.");
      }
      throw e;
    }
    return next;
  }

  /** Pauses ({@code true}) or resumes the batch: spec.suspend. */
  static void suspend(KubernetesClient client, String namespace, String name, boolean suspend) {
    checkName(name);
    var batch = client.resources(AutomationBatch.class).inNamespace(namespace).withName(name);
    if (batch.get() == null) {
      throw KubeAuth.refuse(404, "No job %s in namespace %s.".formatted(name, namespace), "id");
    }
    batch.patch(
        PatchContext.of(PatchType.JSON_MERGE), "{\"spec\": {\"suspend\": " + suspend + "}}");
  }

  /**
   * Cancels the ticket with {@code key} of batch {@code name} if no worker holds it, audited as
   * {@code user}'s; a held or finished one is refused with 409 and why, an unknown one with 404.
   */
  static void cancel(
      WorkQueue queue,
      AuditLog audit,
      String user,
      String namespace,
      String name,
      java.util.UUID batchId,
      String key)
      throws SQLException {
    WorkQueue.Cancellation outcome;
    try {
      outcome = queue.cancel(batchId, key);
    } catch (SQLException e) {
      if ("55P03".equals(e.getSQLState())) {
        throw KubeAuth.refuse(
            503, "Ticket %s is locked by a worker right now; retry.".formatted(key));
      }
      throw e;
    }
    switch (outcome) {
      case CANCELLED ->
          new Auditor(audit, "api:" + user)
              .record(
                  "update",
                  "AutomationBatch/" + namespace + "/" + name + "/items",
                  null,
                  null,
                  "cancel=" + key);
      case RUNNING ->
          throw KubeAuth.refuse(
              409,
              "Ticket %s is in a worker's hands: it succeeds, fails or is retried, and cannot be"
                      .formatted(key)
                  + " cancelled now. Suspend its batch (spec.suspend) to stop further attempts.");
      case FINISHED -> throw KubeAuth.refuse(409, "Ticket %s is finished already.".formatted(key));
      default ->
          throw KubeAuth.refuse(404, "Batch %s has no ticket with key %s.".formatted(name, key));
    }
  }
}
