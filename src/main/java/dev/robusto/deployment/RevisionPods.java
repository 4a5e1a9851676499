package dev.robusto.deployment;

import java.util.Map;

/**
 * The pods of each revision's Deployment, as the informer last saw them: what a rollout decision
 * needs to know about the cluster, and nothing it could change.
 */
record RevisionPods(Map<Integer, Pods> byRevision) {

  /** The Deployment's own replica count, pods not being deleted, and ready pods. */
  record Pods(int wanted, int live, int ready) {}

  /** The revision's Deployment runs exactly {@code replicas}, all ready (none: none wanted). */
  boolean ready(Integer revision, int replicas) {
    if (revision == null) {
      return true;
    }
    var pods = byRevision.get(revision);
    if (pods == null) {
      return replicas == 0;
    }
    return pods.live() == replicas && pods.ready() >= replicas && pods.wanted() == replicas;
  }

  int readyReplicas(Integer revision) {
    var pods = revision == null ? null : byRevision.get(revision);
    return pods == null ? 0 : pods.ready();
  }

  /** Pods of the revision's Deployment not being deleted (0 without one). */
  int live(int revision) {
    var pods = byRevision.get(revision);
    return pods == null ? 0 : pods.live();
  }
}
