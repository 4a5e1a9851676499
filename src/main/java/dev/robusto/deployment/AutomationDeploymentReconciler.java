package dev.robusto.deployment;

import dev.robusto.audit.AuditLog;
import dev.robusto.batch.BatchSettings;
import dev.robusto.operator.LogContext;
import dev.robusto.operator.StatusWrites;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;

/**
 * Rolls a fleet out revision by revision ({@link FleetRollout}), watching the revisions'
 * ControllerRevisions and Deployments so that a pod becoming ready moves the rollout on.
 */
@ControllerConfiguration(name = "automationdeployment")
@GradualRetry(
    maxAttempts = -1,
    initialInterval = 1_000,
    intervalMultiplier = 2,
    maxInterval = 60_000)
public class AutomationDeploymentReconciler implements Reconciler<AutomationDeployment> {

  static final String ACTOR = "robusto-operator/automationdeployment";
  private static final String SELECTOR = AutomationDeployment.NAME_LABEL;

  private final TenantDirectory tenants;
  private final BatchSettings settings;
  private final CanaryAnalysis analysis;
  private final AuditLog audit;
  private final MeterRegistry registry;
  private final Clock clock;

  public AutomationDeploymentReconciler(
      TenantDirectory tenants,
      BatchSettings settings,
      CanaryAnalysis analysis,
      AuditLog audit,
      MeterRegistry registry,
      Clock clock) {
    this.tenants = tenants;
    this.settings = settings;
    this.analysis = analysis;
    this.audit = audit;
    this.registry = registry;
    this.clock = clock;
  }

  @Override
  public List<EventSource<?, AutomationDeployment>> prepareEventSources(
      EventSourceContext<AutomationDeployment> context) {
    var deployments =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Deployment.class, AutomationDeployment.class)
                .withName("fleet-deployments")
                .withLabelSelector(SELECTOR)
                .withSecondaryToPrimaryMapper(
                    Mappers.fromOwnerReferences(AutomationDeployment.class))
                .build(),
            context);
    var revisions =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(
                    ControllerRevision.class, AutomationDeployment.class)
                .withName("fleet-revisions")
                .withLabelSelector(SELECTOR)
                .withSecondaryToPrimaryMapper(
                    Mappers.fromOwnerReferences(AutomationDeployment.class))
                .build(),
            context);
    return List.of(deployments, revisions);
  }

  @Override
  public UpdateControl<AutomationDeployment> reconcile(
      AutomationDeployment fleet, Context<AutomationDeployment> context) throws SQLException {
    try {
      return reconcileForTenant(fleet, context);
    } finally {
      LogContext.clear();
    }
  }

  private UpdateControl<AutomationDeployment> reconcileForTenant(
      AutomationDeployment fleet, Context<AutomationDeployment> context) throws SQLException {
    var namespace = fleet.getMetadata().getNamespace();
    var tenant = tenants.ofNamespace(namespace);
    tenant.ifPresent(t -> LogContext.tenant(t.tenantId()));
    var rollout =
        new FleetRollout(fleet, context, tenant.orElse(null), settings, analysis, audit, registry);
    var wakeUp =
        tenant.isEmpty()
            ? rollout.block(
                "TenantNotFound",
                "Namespace "
                    + namespace
                    + " belongs to no Tenant; create fleets in a tenant's namespace.")
            : rollout.run(clock.instant());
    return UpdateControl.<AutomationDeployment>noUpdate().rescheduleAfter(wakeUp);
  }

  /** A failed reconcile says why in the Ready condition; the framework retries it with backoff. */
  @Override
  public ErrorStatusUpdateControl<AutomationDeployment> updateErrorStatus(
      AutomationDeployment fleet, Context<AutomationDeployment> context, Exception error) {
    StatusWrites.write(
        fleet,
        context,
        current -> FleetStatusAggregator.failed(current, error),
        AutomationDeployment::new);
    return ErrorStatusUpdateControl.noStatusUpdate();
  }
}
