package dev.robusto.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.jboss.logging.Logger;

/**
 * Records core/v1 Events, which {@code kubectl describe} shows. A failed event write is logged,
 * never allowed to fail the work it describes.
 */
public final class KubeEvents {

  public static final String NORMAL = "Normal";
  public static final String WARNING = "Warning";
  private static final String COMPONENT = "robusto-operator";

  /** Where Events about cluster-scoped objects go, as Kubernetes itself does and kubectl looks. */
  private static final String CLUSTER_EVENTS_NAMESPACE = "default";

  private static final Logger LOG = Logger.getLogger(KubeEvents.class);

  private KubeEvents() {}

  /**
   * The one policy for Events about a status: an Event for each condition (of {@code types}; empty:
   * all) whose status or reason changed, and for one that first appears bad, or is Ready; Warning
   * when the condition is bad, Normal otherwise. A condition is bad when False, or when True for
   * the {@code badWhenTrue} ones (a conflict, say). Reason: the condition's; message: its type and
   * message.
   */
  public static void transitions(
      KubernetesClient client,
      HasMetadata resource,
      List<Condition> before,
      List<Condition> after,
      Set<String> types,
      Predicate<String> badWhenTrue) {
    for (var condition : after) {
      // Stalled restates Ready's reason and message for kstatus: Ready's Event says it already.
      if ((!types.isEmpty() && !types.contains(condition.getType()))
          || Conditions.STALLED.equals(condition.getType())) {
        continue;
      }
      var bad = "True".equals(condition.getStatus()) == badWhenTrue.test(condition.getType());
      var old = Conditions.find(before, condition.getType()).orElse(null);
      var changed =
          old == null
              ? bad || Conditions.READY.equals(condition.getType())
              : !old.getStatus().equals(condition.getStatus())
                  || !old.getReason().equals(condition.getReason());
      if (changed) {
        record(
            client,
            resource,
            bad ? WARNING : NORMAL,
            condition.getReason(),
            condition.getType() + ": " + condition.getMessage());
      }
    }
  }

  /** An Event about {@code involved}, namespaced or cluster-scoped. */
  public static void record(
      KubernetesClient client, HasMetadata involved, String type, String reason, String message) {
    var namespace = involved.getMetadata().getNamespace();
    var reference =
        new ObjectReferenceBuilder()
            .withApiVersion(involved.getApiVersion())
            .withKind(involved.getKind())
            .withNamespace(namespace)
            .withName(involved.getMetadata().getName())
            .withUid(involved.getMetadata().getUid())
            .build();
    record(
        client,
        namespace == null ? CLUSTER_EVENTS_NAMESPACE : namespace,
        reference,
        type,
        reason,
        message);
  }

  private static void record(
      KubernetesClient client,
      String namespace,
      ObjectReference involved,
      String type,
      String reason,
      String message) {
    // The operator's log tells the same story as its Events (which the API server ages out).
    LOG.logf(
        WARNING.equals(type) ? Logger.Level.WARN : Logger.Level.INFO,
        "%s %s/%s: %s",
        reason,
        involved.getKind(),
        involved.getName(),
        message);
    var now = Instant.now().toString();
    var event =
        new EventBuilder()
            .withNewMetadata()
            .withNamespace(namespace)
            .withName(involved.getName() + "." + Long.toHexString(System.nanoTime()))
            .endMetadata()
            .withInvolvedObject(involved)
            .withType(type)
            .withReason(reason)
            .withMessage(message)
            .withNewSource()
            .withComponent(COMPONENT)
            .endSource()
            .withReportingComponent(COMPONENT)
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withCount(1)
            .build();
    try {
      client.v1().events().inNamespace(namespace).resource(event).create();
    } catch (KubernetesClientException e) {
      LOG.warnf("Could not record event %s for %s: %s", reason, involved.getName(), e.getMessage());
    }
  }
}
