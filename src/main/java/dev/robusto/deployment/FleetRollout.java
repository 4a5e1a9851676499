package dev.robusto.deployment;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.batch.BatchSettings;
import dev.robusto.flag.FlagSwitch;
import dev.robusto.operator.Durations;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.StatusWrites;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * One reconcile of a fleet's rollout: gathers the facts ({@link FleetFacts}: the spec's revision,
 * recorded as a ControllerRevision if new, the pods, the measurements due), has {@link
 * FleetDecision} decide, and carries out its {@link FleetPlan} in a fixed order: Deployments first
 * (a rollback takes effect before anything is said about it), flags a rollback turns off, audit
 * entries and counters, the status, then the Events and the removal of the person's action
 * annotation, both only once the status is written, and last the pruning of old revisions.
 */
final class FleetRollout {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = Logger.getLogger(FleetRollout.class);

  private final AutomationDeployment fleet;
  private final Context<AutomationDeployment> context;
  private final KubernetesClient client;
  private final TenantDirectory.Entry tenant;
  private final CanaryAnalysis analysis;
  private final AuditLog audit;
  private final MeterRegistry registry;
  private final List<ControllerRevision> revisions;
  private final FleetReplicas replicas;
  private final List<FleetPlan.Event> appliedEvents = new ArrayList<>();

  /** {@code tenant} is null when the fleet's namespace belongs to no tenant. */
  FleetRollout(
      AutomationDeployment fleet,
      Context<AutomationDeployment> context,
      TenantDirectory.Entry tenant,
      BatchSettings settings,
      CanaryAnalysis analysis,
      AuditLog audit,
      MeterRegistry registry) {
    this.fleet = fleet;
    this.context = context;
    this.client = context.getClient();
    this.tenant = tenant;
    this.analysis = analysis;
    this.audit = audit;
    this.registry = registry;
    this.revisions = new ArrayList<>(context.getSecondaryResources(ControllerRevision.class));
    this.replicas = new FleetReplicas(fleet, context, revisions, tenant, settings);
  }

  /** The whole reconcile at {@code now}; returns when to look again. */
  Duration run(Instant now) throws SQLException {
    var facts = gather(now);
    return apply(FleetDecision.decide(fleet, fleet.getStatus(), facts), facts);
  }

  /** A fleet that cannot run (its namespace belongs to no tenant): says so and what to do. */
  Duration block(String reason, String message) {
    var status =
        StatusWrites.copy(
            fleet.getStatus(), AutomationDeploymentStatus.class, AutomationDeploymentStatus::new);
    FleetStatusAggregator.blocked(fleet, status, reason, message);
    StatusWrites.write(fleet, context, f -> status, AutomationDeployment::new);
    return FleetDecision.RECHECK;
  }

  private FleetFacts gather(Instant now) throws SQLException {
    var content = FleetRevisions.Content.of(fleet.getSpec());
    var specRevision = recordRevision(content);
    var annotations = fleet.getMetadata().getAnnotations();
    var action =
        annotations == null ? null : annotations.get(AutomationDeployment.ACTION_ANNOTATION);
    var due = FleetDecision.due(fleet, specRevision, action, now);
    var interval = Durations.parse(fleet.getSpec().analysis.interval);
    var canaryRun =
        due.canary() == null
            ? null
            : analysis.measure(
                fleet,
                tenant.tenantId(),
                due.canary(),
                interval,
                now,
                fleet.getStatus().lastAnalysis);
    var stableRun =
        due.stable() == null
            ? null
            : analysis.measure(
                fleet, tenant.tenantId(), due.stable(), due.stableWindow(), now, null);
    var kept = new HashMap<Integer, String>();
    revisions.forEach(
        r -> kept.put((int) (long) r.getRevision(), FleetRevisions.content(r).image()));
    return new FleetFacts(
        now, specRevision, content.image(), kept, action, replicas.pods(), canaryRun, stableRun);
  }

  /** The number of the revision the spec asks for, recorded as a ControllerRevision if new. */
  private int recordRevision(FleetRevisions.Content content) {
    var existing = FleetRevisions.find(revisions, content.hash());
    if (existing.isPresent()) {
      return (int) (long) existing.get().getRevision();
    }
    var history =
        fleet.getStatus() == null
            ? List.<AutomationDeploymentStatus.Revision>of()
            : fleet.getStatus().history;
    var highest = history.stream().mapToInt(r -> r.revision).max().orElse(0);
    var recorded = FleetRevisions.create(client, fleet, revisions, highest, content);
    var revision = recorded.revision();
    revisions.add(revision);
    if (recorded.created()) {
      record("create", Auditor.resource(revision), null, "revision=" + revision.getRevision());
    }
    return (int) (long) revision.getRevision();
  }

  private Duration apply(FleetPlan plan, FleetFacts facts) {
    scaleRevisions(plan);
    turnOffFlags(plan);
    for (var change : plan.changes()) {
      record("update", Auditor.resource(fleet), change.before(), change.after());
    }
    var written = writeStatus(plan, facts);
    // Counted once the rollback is in the status: a write that fails is decided again next time.
    written
        .rollbackTriggers()
        .forEach(trigger -> registry.counter("robusto.rollbacks", "trigger", trigger).increment());
    for (var event : written.events()) {
      KubeEvents.record(client, fleet, event.type(), event.reason(), event.message());
    }
    for (var event : appliedEvents) {
      KubeEvents.record(client, fleet, event.type(), event.reason(), event.message());
    }
    if (written.obeyedAction() != null) {
      removeAction(written.obeyedAction());
    }
    FleetRevisions.prune(
        client, revisions, fleet.getSpec().revisionHistoryLimit, written.revisionsInUse());
    return written.wakeUp();
  }

  /**
   * The revisions' Deployments to their planned sizes; creations, hand edits put back and templates
   * remade after an upgrade audited, the last two told in an Event.
   */
  private void scaleRevisions(FleetPlan plan) {
    for (var written : replicas.apply(plan.replicas())) {
      var name = written.deployment().getMetadata().getName();
      var change = written.change();
      record(
          change == FleetReplicas.Change.CREATED ? "create" : "update",
          Auditor.resource(written.deployment()),
          null,
          "replicas=" + written.deployment().getSpec().getReplicas());
      switch (change) {
        case REPAIRED ->
            appliedEvents.add(
                new FleetPlan.Event(
                    KubeEvents.NORMAL,
                    "DriftRepaired",
                    "Deployment %s was edited by hand; the fleet's settings are back."
                        .formatted(name)));
        case UPDATED ->
            appliedEvents.add(
                new FleetPlan.Event(
                    KubeEvents.NORMAL,
                    "WorkerTemplateUpdated",
                    ("Deployment %s gets the pod template this operator version makes (worker"
                            + " probes, settings); its pods are replaced by a rolling update.")
                        .formatted(name)));
        case CREATED -> {}
      }
    }
  }

  /** The flags the spec lists, off for the fleet's tenant (for all only by the flag's own list). */
  private void turnOffFlags(FleetPlan plan) {
    for (var flag : plan.flagsToTurnOff()) {
      FlagSwitch.turnOffOnRollback(
              client,
              audit,
              AutomationDeploymentReconciler.ACTOR,
              flag,
              tenant.tenantId(),
              "Turned off by the rollback of AutomationDeployment %s/%s: %s"
                  .formatted(
                      fleet.getMetadata().getNamespace(),
                      fleet.getMetadata().getName(),
                      plan.rollbackReason()))
          .ifPresent(
              scope ->
                  appliedEvents.add(
                      new FleetPlan.Event(
                          KubeEvents.WARNING,
                          "FlagDisabled",
                          "FeatureFlag " + flag + " turned off for " + scope + ".")));
    }
  }

  /**
   * Writes the plan's status. If the resource changed meanwhile (a conflict), the status is decided
   * again from the fresher one with the same facts, and that plan's Events and action are the ones
   * carried out; its Deployment sizes are the next reconcile's to apply.
   */
  private FleetPlan writeStatus(FleetPlan plan, FleetFacts facts) {
    var decided = new AtomicReference<>(plan);
    StatusWrites.write(
        fleet,
        context,
        current -> {
          if (StatusWrites.sameJson(current.getStatus(), fleet.getStatus())) {
            return plan.status();
          }
          decided.set(FleetDecision.decide(fleet, current.getStatus(), facts));
          return decided.get().status();
        },
        AutomationDeployment::new);
    return decided.get();
  }

  /**
   * Removes the action annotation, but only if it still holds the action that was carried out: a
   * person who wrote another one meanwhile has it carried out by the next reconcile.
   */
  private void removeAction(String action) {
    var pointer =
        "/metadata/annotations/" + AutomationDeployment.ACTION_ANNOTATION.replace("/", "~1");
    try {
      client
          .resources(AutomationDeployment.class)
          .inNamespace(fleet.getMetadata().getNamespace())
          .withName(fleet.getMetadata().getName())
          .patch(
              PatchContext.of(PatchType.JSON),
              JSON.valueToTree(
                      List.of(
                          Map.of("op", "test", "path", pointer, "value", action),
                          Map.of("op", "remove", "path", pointer)))
                  .toString());
    } catch (KubernetesClientException e) {
      if (e.getCode() != 422) { // the test failed: the annotation holds something else now
        throw e;
      }
      LOG.debugf(
          "Action %s on %s was replaced before its removal", action, Auditor.resource(fleet));
    }
  }

  private void record(String action, String resource, String before, String after) {
    new Auditor(audit, AutomationDeploymentReconciler.ACTOR)
        .record(action, resource, tenant == null ? null : tenant.tenantId(), before, after);
  }
}
