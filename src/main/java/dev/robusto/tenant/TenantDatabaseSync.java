package dev.robusto.tenant;

import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Keeps a tenant's PostgreSQL side in step: its tenant_config row, its login role (connection limit
 * from the tier) and the Secret in its namespace with the role's credentials. Two roles per tenant
 * (slots a and b) make rotation seamless: the new password goes to the other slot, the Secret
 * switches to it, and the old slot can log in until the grace period ends. Every change is audited;
 * the password itself never leaves the Secret.
 */
@ApplicationScoped
public class TenantDatabaseSync {

  public static final String SECRET = "robusto-database";

  /** The key of {@link #SECRET} with PostgreSQL's CA, when connections verify the server. */
  public static final String DATABASE_CA = "database-ca";

  static final String ACTOR = "robusto-operator/tenant";

  /**
   * The database status to report, when to look again (the end of a grace period), and the payload
   * key the Secret holds (base64), for PayloadKeys to wrap the tenant's data keys with.
   */
  record Outcome(TenantDatabaseStatus status, Optional<Duration> recheck, String payloadKey) {}

  private final TenantDatabase database;
  private final AuditLog audit;
  private final TenantDefaults defaults;
  private final Clock clock;

  public TenantDatabaseSync(
      TenantDatabase database, AuditLog audit, TenantDefaults defaults, Clock clock) {
    this.database = database;
    this.audit = audit;
    this.defaults = defaults;
    this.clock = clock;
  }

  /** The tenant's tenant_config row as it is, read once per reconcile. */
  Optional<TenantDatabase.Config> rows(Tenant tenant) throws SQLException {
    return database.config(tenant.getMetadata().getName());
  }

  /** {@code rows}: what {@link #rows} read for this reconcile. */
  Outcome sync(
      Tenant tenant, TenantPlan plan, KubernetesClient client, Optional<TenantDatabase.Config> rows)
      throws SQLException {
    var tenantId = tenant.getMetadata().getName();
    syncConfig(tenant, plan, rows);

    var previous = tenant.getStatus() == null ? null : tenant.getStatus().getDatabase();
    var requestedRotation = tenant.getSpec().getDatabase().getCredentialsRotation();
    var secret = client.secrets().inNamespace(plan.namespace()).withName(SECRET).get();
    var active = previous == null ? null : database.role(previous.getRole()).orElse(null);
    var rotate =
        previous == null
            || active == null
            || !active.canLogin()
            || !Objects.equals(requestedRotation, previous.getCredentialsRotation())
            || !previous.getRole().equals(secretUsername(secret));

    var next = new TenantDatabaseStatus();
    next.setSecret(SECRET);
    next.setCredentialsRotation(requestedRotation);
    // The payload key outlives a rotation: the tenant's data keys are wrapped under it.
    var storedPayloadKey = secretValue(secret, PayloadKeys.WORKER_KEY);
    var payloadKey = storedPayloadKey != null ? storedPayloadKey : newPayloadKey();
    if (rotate) {
      rotate(tenant, plan, client, secret, payloadKey, previous, next);
    } else {
      keep(tenantId, plan, previous, active, next);
      if (storedPayloadKey == null) {
        // A Secret from before payload encryption: the same credentials, and a payload key.
        client
            .resource(
                secret(
                    tenant, plan, previous.getRole(), secretValue(secret, "password"), payloadKey))
            .serverSideApply();
        record(
            "update",
            "Secret/%s/%s".formatted(plan.namespace(), SECRET),
            tenantId,
            previous.getRole(),
            previous.getRole() + "+" + PayloadKeys.WORKER_KEY);
      }
    }
    return new Outcome(next, endPreviousCredential(tenantId, next), payloadKey);
  }

  /** A new role in the other slot, its password in the Secret; the old one ends after a grace. */
  private void rotate(
      Tenant tenant,
      TenantPlan plan,
      KubernetesClient client,
      Secret secret,
      String payloadKey,
      TenantDatabaseStatus previous,
      TenantDatabaseStatus next)
      throws SQLException {
    var tenantId = tenant.getMetadata().getName();
    var slot = previous == null || previous.getRole().endsWith("_b") ? "a" : "b";
    var role = TenantDatabase.roleName(tenantId, slot);
    var password = ScramVerifier.newPassword();
    database.login(tenantId, role, ScramVerifier.of(password), plan.databaseConnections());
    client.resource(secret(tenant, plan, role, password, payloadKey)).serverSideApply();
    // The Secret's state is its username: the password is never hashed into the audit log.
    record(
        secret == null ? "create" : "update",
        "Secret/%s/%s".formatted(plan.namespace(), SECRET),
        tenantId,
        secretUsername(secret),
        role);
    record(
        previous == null ? "create" : "rotate",
        "postgres-role/" + role,
        tenantId,
        previous == null ? null : previous.getRole(),
        role);
    next.setRole(role);
    if (previous != null && !previous.getRole().equals(role)) {
      next.setPreviousRole(previous.getRole());
      next.setPreviousValidUntil(
          clock
              .instant()
              .plus(defaults.database().rotationGrace())
              .truncatedTo(ChronoUnit.SECONDS)
              .toString());
    }
  }

  /** The same role; its connection limit follows the plan's. */
  private void keep(
      String tenantId,
      TenantPlan plan,
      TenantDatabaseStatus previous,
      TenantDatabase.Role active,
      TenantDatabaseStatus next)
      throws SQLException {
    next.setRole(previous.getRole());
    if (active.connectionLimit() != plan.databaseConnections()) {
      database.connectionLimit(active.name(), plan.databaseConnections());
      record(
          "update",
          "postgres-role/" + active.name(),
          tenantId,
          "connection-limit=" + active.connectionLimit(),
          "connection-limit=" + plan.databaseConnections());
    }
    next.setPreviousRole(previous.getPreviousRole());
    next.setPreviousValidUntil(previous.getPreviousValidUntil());
  }

  /**
   * A message saying what to do when the rows under this Tenant's name were retained from an
   * earlier Tenant of the same name (another UID) and this one does not ask to adopt them; empty
   * when they are its own, free, or adopted.
   */
  static Optional<String> retainedConflict(Tenant tenant, Optional<TenantDatabase.Config> rows) {
    var uid = tenant.getMetadata().getUid();
    if (rows.isEmpty()
        || Objects.equals(rows.get().uid(), uid)
        || (rows.get().uid() == null && !rows.get().retained())
        || tenant.getSpec().getDatabase().isAdoptRetained()) {
      return Optional.empty();
    }
    return Optional.of(
        ("The database holds rows retained from an earlier Tenant named '%s'%s. Set"
                + " spec.database.adoptRetained: true to take them over, or pick another name.")
            .formatted(
                tenant.getMetadata().getName(),
                rows.get().uid() == null ? "" : " (UID " + rows.get().uid() + ")"));
  }

  /** Drops the tenant's roles and retains or erases its rows, as the spec says; audited. */
  void remove(Tenant tenant) throws SQLException {
    var tenantId = tenant.getMetadata().getName();
    for (var role : database.dropRoles(tenantId)) {
      record("delete", "postgres-role/" + role, tenantId, role, null);
    }
    var rows = rows(tenant);
    if (retainedConflict(tenant, rows).isPresent()) {
      // The rows are an earlier Tenant's, kept on purpose: this one never had them.
      return;
    }
    if (tenant.getSpec().getDatabase().getOnDelete() == TenantDatabaseSpec.OnDelete.Erase) {
      var before = rows.map(TenantDatabase.Config::state).orElse(null);
      if (database.erase(tenantId, tenant.getMetadata().getUid())) {
        record("erase", "tenant-rows/" + tenantId, tenantId, before, null);
      }
    } else {
      database.retain(tenantId, tenant.getMetadata().getUid());
      record("retain", "tenant-rows/" + tenantId, tenantId, null, null);
    }
  }

  private void syncConfig(Tenant tenant, TenantPlan plan, Optional<TenantDatabase.Config> current)
      throws SQLException {
    var limits = plan.limits();
    var desired =
        new TenantDatabase.Config(
            tenant.getMetadata().getName(),
            tenant.getMetadata().getUid(),
            false,
            tenant.getSpec().getTier().value(),
            plan.namespace(),
            limits.getMaxConcurrentJobs(),
            limits.getMaxDailyJobs(),
            limits.getRequestsPerMinute(),
            tenant.getSpec().suspendedNow(),
            plan.pricePerTicketMxn());
    if (current.isPresent() && current.get().equals(desired)) {
      return;
    }
    database.writeConfig(desired);
    record(
        current.isEmpty() ? "create" : "update",
        "tenant_config/" + desired.tenantId(),
        desired.tenantId(),
        current.map(TenantDatabase.Config::state).orElse(null),
        desired.state());
  }

  /** After the grace period the previous role may no longer log in; until then, look again then. */
  private Optional<Duration> endPreviousCredential(String tenantId, TenantDatabaseStatus status)
      throws SQLException {
    if (status.getPreviousRole() == null) {
      return Optional.empty();
    }
    var remaining =
        Duration.between(clock.instant(), Instant.parse(status.getPreviousValidUntil()));
    if (!remaining.isNegative() && !remaining.isZero()) {
      return Optional.of(remaining.plusSeconds(1));
    }
    database.noLogin(status.getPreviousRole());
    record("update", "postgres-role/" + status.getPreviousRole(), tenantId, "login", "nologin");
    status.setPreviousRole(null);
    status.setPreviousValidUntil(null);
    return Optional.empty();
  }

  private Secret secret(
      Tenant tenant, TenantPlan plan, String role, String password, String payloadKey) {
    return new SecretBuilder()
        .withNewMetadata()
        .withName(SECRET)
        .withNamespace(plan.namespace())
        .withLabels(tenant.childLabels())
        .withOwnerReferences(
            new io.fabric8.kubernetes.api.model.OwnerReferenceBuilder()
                .withApiVersion(tenant.getApiVersion())
                .withKind(tenant.getKind())
                .withName(tenant.getMetadata().getName())
                .withUid(tenant.getMetadata().getUid())
                .withController(true)
                .build())
        .endMetadata()
        .withType("Opaque")
        .withStringData(secretData(role, password, payloadKey))
        .build();
  }

  /**
   * What a tenant's workers connect with, and PostgreSQL's CA when their URL verifies it; and the
   * payload key they open its data keys with (PayloadKeys).
   */
  private Map<String, String> secretData(String role, String password, String payloadKey) {
    var data = new java.util.TreeMap<String, String>();
    data.put("username", role);
    data.put("password", password);
    data.put(PayloadKeys.WORKER_KEY, payloadKey);
    data.put("jdbc-url", defaults.database().jdbcUrl());
    defaults.database().ca().ifPresent(ca -> data.put(DATABASE_CA, ca));
    return data;
  }

  private static String secretUsername(Secret secret) {
    return secretValue(secret, "username");
  }

  static String secretValue(Secret secret, String key) {
    if (secret == null || secret.getData() == null || !secret.getData().containsKey(key)) {
      return null;
    }
    return new String(java.util.Base64.getDecoder().decode(secret.getData().get(key)));
  }

  private static String newPayloadKey() {
    return java.util.Base64.getEncoder().encodeToString(PayloadCipher.newKey());
  }

  /** States are hashed: the audit log never holds a password or other secret. */
  private void record(
      String action, String resource, String tenantId, String before, String after) {
    new Auditor(audit, ACTOR).record(action, resource, tenantId, before, after);
  }
}
