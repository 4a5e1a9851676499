package dev.robusto.tenant;

import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Makes a Tenant's namespace, quota, limits, isolation and owner access match its spec. The
 * workflow is invoked explicitly so a namespace conflict stops it before anything is written.
 * Failures are retried with exponential backoff (1 s doubling to 5 min, never giving up) while the
 * status says what failed and why.
 */
@Workflow(
    explicitInvocation = true,
    dependents = {
      @Dependent(name = TenantReconciler.NAMESPACE, type = TenantNamespace.class),
      @Dependent(
          name = TenantReconciler.QUOTA,
          type = TenantResourceQuota.class,
          dependsOn = TenantReconciler.NAMESPACE),
      @Dependent(
          name = TenantReconciler.LIMIT_RANGE,
          type = TenantLimitRange.class,
          dependsOn = TenantReconciler.NAMESPACE),
      @Dependent(
          name = TenantReconciler.NETWORK_POLICY,
          type = TenantNetworkPolicy.class,
          dependsOn = TenantReconciler.NAMESPACE,
          reconcilePrecondition = TenantNetworkPolicy.IsolationEnabled.class),
      @Dependent(
          name = TenantReconciler.ROLE_BINDING,
          type = TenantOwnerRoleBinding.class,
          dependsOn = TenantReconciler.NAMESPACE)
    })
@ControllerConfiguration(
    name = "tenant",
    maxReconciliationInterval =
        @MaxReconciliationInterval(interval = 10, timeUnit = TimeUnit.MINUTES))
@GradualRetry(
    maxAttempts = -1,
    initialInterval = 1_000,
    intervalMultiplier = 2,
    maxInterval = 300_000)
public class TenantReconciler implements Reconciler<Tenant> {

  static final String NAMESPACE = "namespace";
  static final String QUOTA = "resourcequota";
  static final String LIMIT_RANGE = "limitrange";
  static final String NETWORK_POLICY = "networkpolicy";
  static final String ROLE_BINDING = "rolebinding";
  static final String MANAGED_SELECTOR = Tenant.MANAGED_BY_LABEL + "=" + Tenant.MANAGED_BY;

  /** How soon a tenant whose namespace conflicts looks again (the conflict may be cleared). */
  static final Duration CONFLICT_RECHECK = Duration.ofSeconds(30);

  private final TenantDefaults defaults;

  @Inject
  public TenantReconciler(TenantDefaults defaults) {
    this.defaults = defaults;
  }

  /** The resolved plan, put in the context by {@link #reconcile} for the dependents to read. */
  static TenantPlan plan(Context<Tenant> context) {
    return context
        .managedWorkflowAndDependentResourceContext()
        .getMandatory(TenantPlan.class, TenantPlan.class);
  }

  @Override
  public UpdateControl<Tenant> reconcile(Tenant tenant, Context<Tenant> context) {
    TenantPlan plan;
    try {
      plan = TenantPlan.resolve(tenant, defaults);
    } catch (InvalidTenantException e) {
      return patchIfChanged(
          tenant, TenantStatusAggregator.invalid(tenant, "InvalidSpec", e.getMessage()), context);
    }
    context.managedWorkflowAndDependentResourceContext().put(TenantPlan.class, plan);

    var conflict = NamespaceGuard.conflict(tenant, context);
    if (conflict.isPresent()) {
      var status = TenantStatusAggregator.conflict(tenant, plan, conflict.get());
      return patchIfChanged(tenant, status, context).rescheduleAfter(CONFLICT_RECHECK);
    }
    context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow();
    return patchIfChanged(tenant, TenantStatusAggregator.provisioned(tenant, plan), context);
  }

  @Override
  public ErrorStatusUpdateControl<Tenant> updateErrorStatus(
      Tenant tenant, Context<Tenant> context, Exception error) {
    var plan =
        context
            .managedWorkflowAndDependentResourceContext()
            .get(TenantPlan.class, TenantPlan.class);
    TenantStatus status;
    if (plan.isEmpty()) {
      status = TenantStatusAggregator.invalid(tenant, "ReconcileError", error.getMessage());
    } else if (error instanceof AggregatedOperatorException aggregated) {
      status =
          TenantStatusAggregator.failed(tenant, plan.get(), aggregated.getAggregatedExceptions());
    } else {
      status = TenantStatusAggregator.failed(tenant, plan.get(), Map.of(NAMESPACE, error));
    }
    if (Objects.equals(status, tenant.getStatus())) {
      return ErrorStatusUpdateControl.noStatusUpdate();
    }
    recordTransitions(tenant, status, context);
    tenant.setStatus(status);
    return ErrorStatusUpdateControl.patchStatus(tenant);
  }

  private UpdateControl<Tenant> patchIfChanged(
      Tenant tenant, TenantStatus status, Context<Tenant> context) {
    if (Objects.equals(status, tenant.getStatus())) {
      return UpdateControl.noUpdate();
    }
    recordTransitions(tenant, status, context);
    tenant.setStatus(status);
    return UpdateControl.patchStatus(tenant);
  }

  /** An Event for each condition whose status or reason changed, Ready first. */
  private static void recordTransitions(Tenant tenant, TenantStatus next, Context<Tenant> context) {
    var before = tenant.getStatus();
    for (var condition : next.getConditions()) {
      var old =
          before == null
              ? null
              : before.getConditions().stream()
                  .filter(c -> c.getType().equals(condition.getType()))
                  .findFirst()
                  .orElse(null);
      var changed =
          old == null
              ? !"True".equals(condition.getStatus())
                  || condition.getType().equals(TenantStatusAggregator.READY)
              : !old.getStatus().equals(condition.getStatus())
                  || !old.getReason().equals(condition.getReason());
      if (!changed) {
        continue;
      }
      var ok = "True".equals(condition.getStatus());
      var negative =
          condition.getType().equals(TenantStatusAggregator.NAMESPACE_CONFLICT) ? ok : !ok;
      TenantEvents.record(
          context.getClient(),
          tenant,
          negative ? TenantEvents.WARNING : TenantEvents.NORMAL,
          condition.getReason(),
          condition.getType() + ": " + condition.getMessage());
    }
  }
}
