package dev.robusto.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;

/** Standard status conditions. */
public final class Conditions {

  public static final String READY = "Ready";

  /**
   * True only while nothing more happens without a person (a spec to fix, a conflict to settle, a
   * failure to look at), and absent otherwise: kstatus reads it, so Flux's health checks fail at
   * once instead of waiting for their timeout.
   */
  public static final String STALLED = "Stalled";

  private Conditions() {}

  /** The condition of {@code type} in {@code conditions}, if there is one. */
  public static java.util.Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions == null
        ? java.util.Optional.empty()
        : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  /**
   * {@code conditions} after a reconcile that failed: Ready first and false, with the kind of
   * failure as its reason and what failed as its message ({@link ReconcileErrors}); no Stalled; the
   * others as they were.
   */
  public static List<Condition> notReady(
      List<Condition> conditions, Long generation, Throwable error) {
    var next = new java.util.ArrayList<Condition>(conditions == null ? List.of() : conditions);
    // A reconcile retried with backoff is not stalled, whatever the last one found.
    next.removeIf(c -> READY.equals(c.getType()) || STALLED.equals(c.getType()));
    next.add(
        0,
        of(
            conditions,
            generation,
            READY,
            false,
            ReconcileErrors.reason(error),
            ReconcileErrors.retrying(error)));
    return next;
  }

  /** The reason of the condition of {@code type}, or null without one. */
  public static String reason(List<Condition> conditions, String type) {
    return find(conditions, type).map(Condition::getReason).orElse(null);
  }

  /**
   * A condition that keeps the last transition time it had in {@code previous} while its status
   * holds, so rewriting an unchanged status is a no-op.
   */
  public static Condition of(
      List<Condition> previous,
      Long generation,
      String type,
      boolean value,
      String reason,
      String message) {
    var status = value ? "True" : "False";
    var since =
        previous == null
            ? null
            : previous.stream()
                .filter(c -> c.getType().equals(type) && c.getStatus().equals(status))
                .map(Condition::getLastTransitionTime)
                .findFirst()
                .orElse(null);
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(generation)
        .withLastTransitionTime(since != null ? since : Instant.now().toString())
        .build();
  }
}
