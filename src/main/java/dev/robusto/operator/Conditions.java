package dev.robusto.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;

/** Standard status conditions. */
public final class Conditions {

  private Conditions() {}

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
