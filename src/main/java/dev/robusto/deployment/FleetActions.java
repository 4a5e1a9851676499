package dev.robusto.deployment;

import dev.robusto.deployment.AutomationDeploymentStatus.Outcome;
import dev.robusto.operator.KubeEvents;
import java.util.Map;
import java.util.Objects;

/**
 * A person's order, from the fleet's {@code robusto.dev/action} annotation: promote, abort, retry
 * or rollback:N. What was done goes into {@code status.lastAction} and an Event; the annotation is
 * removed only once that status is written.
 */
final class FleetActions {

  private FleetActions() {}

  static void obey(RolloutDraft draft) {
    var action = draft.facts.action();
    if (action == null) {
      return;
    }
    var outcome =
        switch (action) {
          case "promote" ->
              draft.promote("promoted by request, skipping its remaining steps and analysis");
          case "abort" -> abort(draft);
          case "retry" -> retry(draft);
          default ->
              action.matches("rollback:[0-9]{1,9}")
                  ? rollbackTo(draft, Integer.parseInt(action.substring("rollback:".length())))
                  : "unknown action; use promote, abort, retry or rollback:<revision>";
        };
    draft.status.lastAction = "%s at %s: %s.".formatted(action, draft.now, outcome);
    draft.event(KubeEvents.NORMAL, "Action", draft.status.lastAction);
  }

  private static String abort(RolloutDraft draft) {
    return draft.status.canaryRevision == null
        ? "nothing to abort: no canary is running"
        : draft.rollback(
            "Aborted by request at step " + draft.step() + ".", "person", Outcome.ABORTED);
  }

  private static String retry(RolloutDraft draft) {
    var specRevision = draft.specRevision();
    if (!Objects.equals(draft.status.abortedRevision, specRevision)) {
      return "nothing to retry: revision " + specRevision + " was not stopped";
    }
    draft.clearAbort();
    return "revision " + specRevision + " starts its steps again";
  }

  /** Stable revision {@code target} at full weight at once; the spec's waits if it differs. */
  private static String rollbackTo(RolloutDraft draft, int target) {
    Map<Integer, String> kept = draft.facts.keptImages();
    if (!kept.containsKey(target)) {
      return "refused: no revision %d is kept (kept: %s)"
          .formatted(target, kept.keySet().stream().sorted().map(String::valueOf).toList());
    }
    var status = draft.status;
    var specRevision = draft.specRevision();
    var from = status.canaryRevision != null ? status.canaryRevision : status.stableRevision;
    var reason =
        "Rolled back to revision %d by request.%s"
            .formatted(
                target,
                target == specRevision
                    ? ""
                    : " Revision %d (the spec) waits until spec.template or processor changes, or robusto.dev/action=retry."
                        .formatted(specRevision));
    if (status.canaryRevision != null) {
      draft.history(status.canaryRevision, null, Outcome.ROLLED_BACK);
    }
    status.canaryRevision = null;
    draft.resetSteps();
    if (!Objects.equals(status.stableRevision, target)) {
      draft.history(status.stableRevision, null, Outcome.SUPERSEDED);
    }
    status.stableRevision = target;
    draft.history(target, kept.get(target), Outcome.STABLE);
    if (target != specRevision) {
      status.abortedRevision = specRevision;
      status.abortReason = reason;
    } else {
      draft.clearAbort();
    }
    draft.addRollback(from, target, reason);
    draft.countRollback("person");
    draft.change("stable=" + from, "stable=" + target);
    return "revision " + target + " is stable at full weight";
  }
}
