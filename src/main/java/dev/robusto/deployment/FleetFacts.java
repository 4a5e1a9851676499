package dev.robusto.deployment;

import dev.robusto.deployment.AutomationDeploymentStatus.AnalysisRun;
import java.time.Instant;
import java.util.Map;

/**
 * What a reconcile of a fleet knows before it decides ({@link FleetDecision}): the time, the
 * revision the spec asks for, the revisions kept (number to image), a person's pending action, the
 * revisions' pods, and the measurements that were due (null: none taken).
 */
record FleetFacts(
    Instant now,
    int specRevision,
    String specImage,
    Map<Integer, String> keptImages,
    String action,
    RevisionPods pods,
    AnalysisRun canaryRun,
    AnalysisRun stableRun) {}
