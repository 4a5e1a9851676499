package dev.robusto.deployment;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What one reconcile of a fleet decided, for {@link FleetRollout} to carry out in a fixed order:
 * the Deployments' sizes, the flags a rollback turns off, the audit entries and rollback counts,
 * the status, the Events (only once the status is written), the person's action annotation removed
 * (only after that), and the revisions to keep.
 */
record FleetPlan(
    AutomationDeploymentStatus status,
    Map<Integer, Integer> replicas,
    List<String> flagsToTurnOff,
    String rollbackReason,
    List<Change> changes,
    List<String> rollbackTriggers,
    List<Event> events,
    String obeyedAction,
    List<Integer> revisionsInUse,
    Duration wakeUp) {

  /** An update of the fleet's revisions, for the audit log (states hashed there). */
  record Change(String before, String after) {}

  /** An Event about the fleet. */
  record Event(String type, String reason, String message) {}
}
