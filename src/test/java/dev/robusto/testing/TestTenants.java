package dev.robusto.testing;

import static org.awaitility.Awaitility.await;

import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantDatabaseSync;
import dev.robusto.tenant.TenantLimits;
import dev.robusto.tenant.TenantSpec;
import dev.robusto.tenant.Tier;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Base64;

/** Tenants for tests that work inside one: created, then awaited until Ready. */
public final class TestTenants {

  private TestTenants() {}

  /** A Tenant of {@code tier}, as {@code customize} makes it (not created). */
  public static Tenant tenant(
      String name, Tier tier, java.util.function.Consumer<TenantSpec> customize) {
    var tenant = new Tenant();
    tenant.getMetadata().setName(name);
    tenant.setSpec(new TenantSpec());
    tenant.getSpec().setTier(tier);
    customize.accept(tenant.getSpec());
    return tenant;
  }

  /**
   * Creates a Tenant of {@code tier} owned by ServiceAccount {@code caja} of its namespace, waits
   * until it is Ready, creates the ServiceAccount, and returns the namespace.
   */
  public static String ownedByCaja(KubernetesClient client, String name, Tier tier) {
    client
        .resource(
            tenant(
                name,
                tier,
                spec ->
                    spec.setOwners(
                        java.util.List.of(
                            new dev.robusto.tenant.TenantOwner(
                                dev.robusto.tenant.TenantOwner.Kind.ServiceAccount,
                                "caja",
                                "tenant-" + name)))))
        .create();
    var namespace = awaitReady(client, name);
    LocalCluster.get().kubectl("create", "serviceaccount", "caja", "-n", namespace);
    return namespace;
  }

  /** Creates the Tenant and returns its namespace once it is Ready. */
  public static String ready(KubernetesClient client, String name, Tier tier, TenantLimits limits) {
    var tenant = new Tenant();
    tenant.setMetadata(new ObjectMetaBuilder().withName(name).build());
    var spec = new TenantSpec();
    spec.setTier(tier);
    spec.setLimits(limits);
    tenant.setSpec(spec);
    client.resource(tenant).create();
    return awaitReady(client, name);
  }

  /** Waits until the Tenant is Ready and returns its namespace. */
  public static String awaitReady(KubernetesClient client, String name) {
    await("tenant " + name + " ready")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              var t = client.resources(Tenant.class).withName(name).get();
              return t.getStatus() != null
                  && t.getStatus().getConditions().stream()
                      .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
            });
    return "tenant-" + name;
  }

  /**
   * The tenant's database role and password, from the Secret its pods get: what a hostile tenant
   * holds.
   */
  public static String[] databaseCredentials(KubernetesClient client, String name) {
    var data =
        client
            .secrets()
            .inNamespace("tenant-" + name)
            .withName(TenantDatabaseSync.SECRET)
            .get()
            .getData();
    return new String[] {decode(data.get("username")), decode(data.get("password"))};
  }

  /**
   * The tenant's payload key (base64), from the same Secret: what its workers open its data keys
   * with.
   */
  public static String payloadKey(KubernetesClient client, String name) {
    return decode(
        client
            .secrets()
            .inNamespace("tenant-" + name)
            .withName(TenantDatabaseSync.SECRET)
            .get()
            .getData()
            .get(dev.robusto.tenant.PayloadKeys.WORKER_KEY));
  }

  /** A connection under {@code credentials} (a tenant's role) to the operator's database. */
  public static Connection connect(String[] credentials) throws SQLException {
    return DriverManager.getConnection(
        Postgres.get().jdbcUrl("robusto"), credentials[0], credentials[1]);
  }

  private static String decode(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
  }
}
