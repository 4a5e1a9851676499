package dev.robusto.tenant;

import dev.robusto.operator.Conditions;
import dev.robusto.operator.ReconcileErrors;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a Tenant's status: Ready plus one condition per concern, each with a reason and a message
 * that says what to do. A condition keeps its lastTransitionTime while its status holds, so an
 * unchanged tenant yields an equal status and no write.
 */
final class TenantStatusAggregator {

  static final String READY = "Ready";
  static final String NAMESPACE_READY = "NamespaceReady";
  static final String QUOTA_READY = "QuotaReady";
  static final String ISOLATION_READY = "IsolationReady";
  static final String ACCESS_READY = "AccessReady";
  static final String DATABASE_READY = "DatabaseReady";
  static final String NAMESPACE_CONFLICT = "NamespaceConflict";
  static final String RETAINED_ROWS_CONFLICT = "RetainedRowsConflict";

  /** Each concern and the workflow dependents (by name) that make it true. */
  private static final Map<String, List<String>> CONCERNS =
      Map.of(
          NAMESPACE_READY, List.of(TenantReconciler.NAMESPACE),
          QUOTA_READY, List.of(TenantReconciler.QUOTA, TenantReconciler.LIMIT_RANGE),
          ISOLATION_READY, List.of(TenantReconciler.NETWORK_POLICY),
          ACCESS_READY, List.of(TenantReconciler.ROLE_BINDING),
          DATABASE_READY, List.of(TenantReconciler.DATABASE));

  private static final List<String> CONCERN_ORDER =
      List.of(NAMESPACE_READY, QUOTA_READY, ISOLATION_READY, ACCESS_READY, DATABASE_READY);

  private final Tenant tenant;
  private final TenantPlan plan;
  private final TenantDatabaseStatus database;
  private final TenantUsage usage;
  private final List<Condition> conditions = new ArrayList<>();

  private TenantStatusAggregator(
      Tenant tenant, TenantPlan plan, TenantDatabaseStatus database, TenantUsage usage) {
    this.tenant = tenant;
    this.plan = plan;
    this.database = database;
    this.usage = usage;
  }

  /** The usage from before, kept while it could not be read this time. */
  private static TenantUsage previousUsage(Tenant tenant) {
    return tenant.getStatus() == null ? null : tenant.getStatus().getUsage();
  }

  /** The database status from before, kept while the database was not synced this time. */
  private static TenantDatabaseStatus previousDatabase(Tenant tenant) {
    return tenant.getStatus() == null ? null : tenant.getStatus().getDatabase();
  }

  static boolean isReady(TenantStatus status) {
    return status.getConditions().stream()
        .anyMatch(c -> READY.equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** Every child object and the database are in place. */
  static TenantStatus provisioned(
      Tenant tenant, TenantPlan plan, TenantDatabaseStatus database, TenantUsage usage) {
    return build(tenant, plan, database, usage, Map.of());
  }

  /** Some dependents failed: their concerns say why; the others are in place or waiting. */
  static TenantStatus failed(Tenant tenant, TenantPlan plan, Map<String, Exception> errors) {
    return build(tenant, plan, previousDatabase(tenant), previousUsage(tenant), errors);
  }

  private static TenantStatus build(
      Tenant tenant,
      TenantPlan plan,
      TenantDatabaseStatus database,
      TenantUsage usage,
      Map<String, Exception> errors) {
    var status = new TenantStatusAggregator(tenant, plan, database, usage);
    var namespaceFailed = errors.containsKey(TenantReconciler.NAMESPACE);
    // The database is synced after the cluster objects: when one of those failed, it was not tried.
    var databaseSkipped = !errors.isEmpty() && !errors.containsKey(TenantReconciler.DATABASE);
    for (var concern : CONCERN_ORDER) {
      var failure =
          CONCERNS.get(concern).stream().filter(errors::containsKey).findFirst().orElse(null);
      if (failure != null) {
        var error = errors.get(failure);
        status.add(concern, false, ReconcileErrors.reason(error), describe(failure, error));
      } else if (concern.equals(DATABASE_READY) && databaseSkipped) {
        status.keepPrevious(
            concern, "WaitingForCluster", "Synced once the namespace's objects are in place.");
      } else if (namespaceFailed) {
        status.add(concern, false, "WaitingForNamespace", "Waits until the namespace exists.");
      } else {
        status.add(concern, true, readyReason(concern), status.readyMessage(concern));
      }
    }
    return status.withReady();
  }

  /** Conditions that are bad news when True: something else holds what the Tenant needs. */
  static boolean isConflict(String type) {
    return type.equals(NAMESPACE_CONFLICT) || type.equals(RETAINED_ROWS_CONFLICT);
  }

  /**
   * The namespace is someone else's, or the database rows under the Tenant's name were retained
   * from an earlier Tenant ({@code type} says which): nothing was touched. {@code stalls}: only a
   * person ends it (a namespace being deleted does not).
   */
  static TenantStatus conflict(
      Tenant tenant, TenantPlan plan, String type, String message, boolean stalls) {
    var status =
        new TenantStatusAggregator(tenant, plan, previousDatabase(tenant), previousUsage(tenant));
    status.add(type, true, type, message);
    for (var concern : CONCERN_ORDER) {
      status.add(concern, false, type, "Nothing is provisioned while the conflict lasts.");
    }
    if (stalls) {
      status.add(Conditions.STALLED, true, type, message);
    }
    return status.withReady();
  }

  /**
   * A spec the operator cannot plan from, such as a tier it has no defaults for: nothing happens
   * until it is fixed.
   */
  static TenantStatus invalidSpec(Tenant tenant, String message) {
    var status =
        new TenantStatusAggregator(tenant, null, previousDatabase(tenant), previousUsage(tenant));
    status.add(READY, false, "InvalidSpec", message);
    status.add(Conditions.STALLED, true, "InvalidSpec", message);
    return status.build();
  }

  /** An error before any dependent ran; the framework retries with backoff. */
  static TenantStatus unplanned(Tenant tenant, Throwable error) {
    var status =
        new TenantStatusAggregator(tenant, null, previousDatabase(tenant), previousUsage(tenant));
    status.add(READY, false, ReconcileErrors.reason(error), ReconcileErrors.retrying(error));
    return status.build();
  }

  private TenantStatus withReady() {
    var firstFailure =
        conditions.stream()
            .filter(c -> isConflict(c.getType()) || "False".equals(c.getStatus()))
            .findFirst();
    if (firstFailure.isPresent()) {
      add(READY, false, firstFailure.get().getReason(), firstFailure.get().getMessage());
    } else if (tenant.getSpec().suspendedNow()) {
      add(
          READY,
          false,
          "Suspended",
          "The tenant is suspended: its quota allows no new pods or jobs. Set spec.suspended to"
              + " false to resume.");
    } else {
      add(
          READY,
          true,
          "Provisioned",
          "Namespace %s is ready with its quota, limits, isolation and owner access."
              .formatted(plan.namespace()));
    }
    return build();
  }

  private TenantStatus build() {
    var status = new TenantStatus();
    status.setObservedGeneration(tenant.getMetadata().getGeneration());
    if (plan != null) {
      status.setNamespace(plan.namespace());
      status.setEffectiveLimits(plan.limits());
    }
    status.setDatabase(database);
    status.setUsage(usage);
    // Kept: the reconciler sets it when the keys were synced this time.
    status.setPayloadEncryption(
        tenant.getStatus() == null ? null : tenant.getStatus().getPayloadEncryption());
    // Ready first: it is the one people and kubectl look at.
    conditions.sort((a, b) -> a.getType().equals(READY) ? -1 : b.getType().equals(READY) ? 1 : 0);
    status.setConditions(conditions);
    return status;
  }

  private void add(String type, boolean ok, String reason, String message) {
    var statusValue = ok ? "True" : "False";
    var previous = previous(type);
    var transition =
        previous != null && statusValue.equals(previous.getStatus())
            ? previous.getLastTransitionTime()
            : Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    conditions.add(
        new ConditionBuilder()
            .withType(type)
            .withStatus(statusValue)
            .withReason(reason)
            .withMessage(ReconcileErrors.truncate(message))
            .withObservedGeneration(tenant.getMetadata().getGeneration())
            .withLastTransitionTime(transition)
            .build());
  }

  /** Repeats the condition from before, or a False one with this reason when there was none. */
  private void keepPrevious(String type, String reason, String message) {
    var previous = previous(type);
    if (previous != null) {
      conditions.add(previous);
    } else {
      add(type, false, reason, message);
    }
  }

  private Condition previous(String type) {
    if (tenant.getStatus() == null) {
      return null;
    }
    return tenant.getStatus().getConditions().stream()
        .filter(c -> Objects.equals(type, c.getType()))
        .findFirst()
        .orElse(null);
  }

  private static String readyReason(String concern) {
    if (concern.equals(ISOLATION_READY)) {
      return "IsolationApplied";
    }
    return "Applied";
  }

  private String readyMessage(String concern) {
    return switch (concern) {
      case DATABASE_READY ->
          "PostgreSQL role %s (connection limit %d) can log in; its credentials are in Secret %s."
              .formatted(database.getRole(), plan.databaseConnections(), database.getSecret());
      case NAMESPACE_READY ->
          "Namespace %s exists and is owned by this Tenant.".formatted(plan.namespace());
      case QUOTA_READY ->
          "ResourceQuota %s and LimitRange %s are applied."
              .formatted(TenantResourceQuota.NAME, TenantLimitRange.NAME);
      case ISOLATION_READY ->
          tenant.getSpec().enforcesIsolation()
              ? "NetworkPolicy %s denies ingress from other tenants' namespaces."
                  .formatted(TenantNetworkPolicy.NAME)
              : "spec.isolation is false: ingress from other tenants is not blocked.";
      case ACCESS_READY ->
          "%d owner(s) have the '%s' role in %s."
              .formatted(
                  tenant.getSpec().getOwners().size(),
                  TenantOwnerRoleBinding.OWNER_ROLE,
                  plan.namespace());
      default -> throw new IllegalArgumentException(concern);
    };
  }

  private static String describe(String dependent, Exception error) {
    var what = "Applying the " + dependent + " failed";
    var reason = ReconcileErrors.reason(error);
    var detail = ReconcileErrors.detail(error);
    var hint =
        switch (reason) {
          case "Invalid" -> " Fix the Tenant spec field the API server names.";
          case "Forbidden" ->
              " Grant the operator's ServiceAccount this access (Helm ClusterRole).";
          default -> " The operator retries with backoff.";
        };
    return what + ": " + detail + "." + hint;
  }
}
