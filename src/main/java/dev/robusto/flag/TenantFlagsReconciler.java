package dev.robusto.flag;

import com.fasterxml.jackson.databind.JsonNode;
import dev.robusto.audit.AuditEntry;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.tenant.Tenant;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Projects every FeatureFlag into each tenant: the tenant's answers as ConfigMap robusto-flags in
 * its namespace ({@link TenantFlagsConfigMap}) and as its feature_flags rows. A second controller
 * on Tenants, so the Tenant controller knows nothing of flags; any FeatureFlag change reconciles
 * every tenant. A flag whose spec has errors is left out (its status says why).
 */
@Workflow(explicitInvocation = true, dependents = @Dependent(type = TenantFlagsConfigMap.class))
@ControllerConfiguration(name = "tenantflags")
@GradualRetry(
    maxAttempts = -1,
    initialInterval = 1_000,
    intervalMultiplier = 2,
    maxInterval = 60_000)
public class TenantFlagsReconciler implements Reconciler<Tenant> {

  static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  static final String COMPONENT = "feature-flags";
  static final String CONFIGMAP_SELECTOR = COMPONENT_LABEL + "=" + COMPONENT;
  static final String ACTOR = "robusto-operator/featureflag";
  private static final Duration WAIT_FOR_TENANT = Duration.ofSeconds(2);

  /** A flag's answer for the tenant, with what flagd's format also needs. */
  record Resolved(
      FlagEvaluation evaluation, Map<String, JsonNode> variants, String defaultVariant) {}

  private final FlagStore store;
  private final AuditLog audit;
  private InformerEventSource<FeatureFlag, Tenant> flags;

  public TenantFlagsReconciler(FlagStore store, AuditLog audit) {
    this.store = store;
    this.audit = audit;
  }

  @Override
  public List<EventSource<?, Tenant>> prepareEventSources(EventSourceContext<Tenant> context) {
    flags =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(FeatureFlag.class, Tenant.class)
                .withSecondaryToPrimaryMapper(flag -> FeatureFlagReconciler.everyPrimary(context))
                .build(),
            context);
    return List.of(flags);
  }

  /** The flags resolved for the tenant being reconciled, put in the context for the dependent. */
  static List<Resolved> evaluations(Context<Tenant> context) {
    @SuppressWarnings("unchecked")
    List<Resolved> resolved =
        context
            .managedWorkflowAndDependentResourceContext()
            .getMandatory(Resolved.class, List.class);
    return resolved;
  }

  /**
   * The ConfigMap's writes go to the audit log, its content as a hash; recorded with the rows'
   * change at the end of the reconcile, so the tenant waits for one audit commit, not two.
   */
  static void recordWrite(Context<Tenant> context, String action, Tenant tenant, ConfigMap map) {
    auditEntries(context)
        .add(
            Auditor.entry(
                ACTOR,
                action,
                Auditor.resource(map),
                tenant.getMetadata().getName(),
                null,
                map.getData().get(TenantFlagsConfigMap.KEY)));
  }

  private static List<AuditEntry> auditEntries(Context<Tenant> context) {
    @SuppressWarnings("unchecked")
    List<AuditEntry> entries =
        context
            .managedWorkflowAndDependentResourceContext()
            .getMandatory(AuditEntry.class, List.class);
    return entries;
  }

  @Override
  public UpdateControl<Tenant> reconcile(Tenant tenant, Context<Tenant> context)
      throws SQLException {
    var name = tenant.getMetadata().getName();
    if (tenant.getStatus() == null
        || tenant.getStatus().getNamespace() == null
        || !store.tenantKnown(name)) {
      return UpdateControl.<Tenant>noUpdate().rescheduleAfter(WAIT_FOR_TENANT);
    }
    var resolved =
        flags
            .list(flag -> FlagEvaluation.specErrors(flag.getSpec()).isEmpty())
            .sorted(Comparator.comparing(flag -> flag.getMetadata().getName()))
            .map(
                flag ->
                    new Resolved(
                        FlagEvaluation.of(flag, name),
                        flag.getSpec().variants,
                        flag.getSpec().defaultVariant))
            .toList();
    context.managedWorkflowAndDependentResourceContext().put(Resolved.class, resolved);
    var entries = new ArrayList<AuditEntry>();
    context.managedWorkflowAndDependentResourceContext().put(AuditEntry.class, entries);
    context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow();
    var rows =
        resolved.stream()
            .map(Resolved::evaluation)
            .map(
                e ->
                    new FlagStore.Row(
                        e.key(),
                        e.value() != null && !(e.value().isBoolean() && !e.value().asBoolean()),
                        e.variant(),
                        e.value() == null ? null : e.value().toString()))
            .toList();
    try {
      if (store.replaceTenant(name, rows) > 0) {
        entries.add(
            Auditor.entry(ACTOR, "update", "feature_flags/" + name, name, null, rows.toString()));
      }
    } finally {
      // The ConfigMap's write is recorded even when the rows could not be.
      if (!entries.isEmpty()) {
        audit.append(entries);
      }
    }
    return UpdateControl.noUpdate();
  }
}
