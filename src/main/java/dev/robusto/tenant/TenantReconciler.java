package dev.robusto.tenant;

import dev.robusto.audit.AuditLog;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.LogContext;
import dev.robusto.operator.StatusWrites;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import jakarta.inject.Inject;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

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
public class TenantReconciler implements Reconciler<Tenant>, Cleaner<Tenant> {

  static final String NAMESPACE = "namespace";
  static final String QUOTA = "resourcequota";
  static final String LIMIT_RANGE = "limitrange";
  static final String NETWORK_POLICY = "networkpolicy";
  static final String ROLE_BINDING = "rolebinding";

  /** Not a workflow dependent: the PostgreSQL side, synced after the namespace's objects. */
  static final String DATABASE = "database";

  static final String MANAGED_SELECTOR = Tenant.MANAGED_BY_LABEL + "=" + Tenant.MANAGED_BY;

  /** How soon a tenant whose namespace conflicts looks again (the conflict may be cleared). */
  static final Duration CONFLICT_RECHECK = Duration.ofSeconds(30);

  private final TenantDefaults defaults;
  private final TenantDatabaseSync databaseSync;
  private final TenantUsageStore usageStore;
  private final PayloadKeys payloadKeys;
  private final AuditLog audit;
  private final Clock clock;

  @Inject
  public TenantReconciler(
      TenantDefaults defaults,
      TenantDatabaseSync databaseSync,
      TenantUsageStore usageStore,
      PayloadKeys payloadKeys,
      AuditLog audit,
      Clock clock) {
    this.defaults = defaults;
    this.databaseSync = databaseSync;
    this.usageStore = usageStore;
    this.payloadKeys = payloadKeys;
    this.audit = audit;
    this.clock = clock;
  }

  /** The audit log, put in the context for the dependents to record their writes. */
  static AuditLog audit(Context<Tenant> context) {
    return context
        .managedWorkflowAndDependentResourceContext()
        .getMandatory(AuditLog.class, AuditLog.class);
  }

  /** The resolved plan, put in the context by {@link #reconcile} for the dependents to read. */
  static TenantPlan plan(Context<Tenant> context) {
    return context
        .managedWorkflowAndDependentResourceContext()
        .getMandatory(TenantPlan.class, TenantPlan.class);
  }

  @Override
  public UpdateControl<Tenant> reconcile(Tenant tenant, Context<Tenant> context) {
    try {
      return reconcileTenant(tenant, context);
    } finally {
      LogContext.clear();
    }
  }

  private UpdateControl<Tenant> reconcileTenant(Tenant tenant, Context<Tenant> context) {
    LogContext.tenant(tenant.getMetadata().getName());
    TenantPlan plan;
    try {
      plan = TenantPlan.resolve(tenant, defaults);
    } catch (InvalidTenantException e) {
      writeStatus(tenant, context, t -> TenantStatusAggregator.invalidSpec(t, e.getMessage()));
      return UpdateControl.noUpdate();
    }
    context.managedWorkflowAndDependentResourceContext().put(TenantPlan.class, plan);
    context.managedWorkflowAndDependentResourceContext().put(AuditLog.class, audit);

    var namespaceConflict = NamespaceGuard.conflict(tenant, context);
    if (namespaceConflict.isPresent()) {
      return conflict(
          tenant,
          context,
          plan,
          TenantStatusAggregator.NAMESPACE_CONFLICT,
          namespaceConflict.get().message(),
          !namespaceConflict.get().passing());
    }
    TenantDatabaseSync.Outcome database;
    TenantUsage usage;
    TenantPayloadEncryption encryption;
    try {
      var rows = databaseSync.rows(tenant);
      var retainedConflict = TenantDatabaseSync.retainedConflict(tenant, rows);
      if (retainedConflict.isPresent()) {
        return conflict(
            tenant,
            context,
            plan,
            TenantStatusAggregator.RETAINED_ROWS_CONFLICT,
            retainedConflict.get(),
            true);
      }
      context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow();
      database = databaseSync.sync(tenant, plan, context.getClient(), rows);
      usage = usage(tenant, plan);
      encryption = payloadKeys.sync(tenant.getMetadata().getName(), database.payloadKey());
    } catch (SQLException e) {
      throw new TenantDatabaseException(e);
    }
    writeStatus(
        tenant,
        context,
        t -> {
          var status = TenantStatusAggregator.provisioned(t, plan, database.status(), usage);
          status.setPayloadEncryption(encryption);
          return status;
        });
    var next = defaults.usageRefresh();
    if (database.recheck().isPresent() && database.recheck().get().compareTo(next) < 0) {
      next = database.recheck().get();
    }
    return UpdateControl.<Tenant>noUpdate().rescheduleAfter(next);
  }

  private TenantUsage usage(Tenant tenant, TenantPlan plan) throws SQLException {
    var tenantId = tenant.getMetadata().getName();
    var today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    return new TenantUsage(
        plan,
        today,
        usageStore.now(tenantId, today),
        usageStore.month(tenantId, YearMonth.from(today)));
  }

  /**
   * Something else holds what this Tenant would take: report it, touch nothing, look again. {@code
   * stalls}: only a person ends it.
   */
  private static UpdateControl<Tenant> conflict(
      Tenant tenant,
      Context<Tenant> context,
      TenantPlan plan,
      String type,
      String message,
      boolean stalls) {
    writeStatus(
        tenant, context, t -> TenantStatusAggregator.conflict(t, plan, type, message, stalls));
    return UpdateControl.<Tenant>noUpdate().rescheduleAfter(CONFLICT_RECHECK);
  }

  /**
   * Before the Tenant goes (and the garbage collector takes its namespace), its database roles are
   * dropped and its rows retained or erased as spec.database.onDelete says. A database that cannot
   * be reached holds the deletion until it can: a role must not outlive its tenant.
   */
  @Override
  public DeleteControl cleanup(Tenant tenant, Context<Tenant> context) {
    try {
      databaseSync.remove(tenant);
    } catch (SQLException e) {
      throw new TenantDatabaseException(e);
    }
    KubeEvents.record(
        context.getClient(),
        tenant,
        KubeEvents.NORMAL,
        "DatabaseRemoved",
        "Database roles dropped; rows %s."
            .formatted(
                tenant.getSpec().getDatabase().getOnDelete() == TenantDatabaseSpec.OnDelete.Erase
                    ? "erased"
                    : "retained"));
    return DeleteControl.defaultDelete();
  }

  @Override
  public ErrorStatusUpdateControl<Tenant> updateErrorStatus(
      Tenant tenant, Context<Tenant> context, Exception error) {
    var plan =
        context
            .managedWorkflowAndDependentResourceContext()
            .get(TenantPlan.class, TenantPlan.class);
    Function<Tenant, TenantStatus> status;
    if (plan.isEmpty()) {
      status = t -> TenantStatusAggregator.unplanned(t, error);
    } else if (error instanceof TenantDatabaseException) {
      status = t -> TenantStatusAggregator.failed(t, plan.get(), Map.of(DATABASE, error));
    } else if (error instanceof AggregatedOperatorException aggregated) {
      status =
          t -> TenantStatusAggregator.failed(t, plan.get(), aggregated.getAggregatedExceptions());
    } else {
      status = t -> TenantStatusAggregator.failed(t, plan.get(), Map.of(NAMESPACE, error));
    }
    writeStatus(tenant, context, status);
    // The failure itself is retried with backoff by the framework.
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  /** Writes the status {@code compute} gives when it changed; Events follow a successful write. */
  private static void writeStatus(
      Tenant tenant, Context<Tenant> context, Function<Tenant, TenantStatus> compute) {
    StatusWrites.write(tenant, context, compute, Tenant::new)
        .ifPresent(w -> recordTransitions(tenant, w.before(), w.after(), context));
  }

  /** Events for the conditions that changed, by the policy every resource follows. */
  private static void recordTransitions(
      Tenant tenant, TenantStatus before, TenantStatus next, Context<Tenant> context) {
    KubeEvents.transitions(
        context.getClient(),
        tenant,
        before == null ? null : before.getConditions(),
        next.getConditions(),
        Set.of(),
        TenantStatusAggregator::isConflict);
  }
}
