package dev.robusto.tenant;

import static dev.robusto.testing.TestTenants.tenant;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.LimitRange;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuota;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Tenant reconciler against a real kube-apiserver, controller-manager and etcd. */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class TenantIT {

  @io.quarkus.test.common.http.TestHTTPResource("/q/metrics")
  java.net.URL metrics;

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  /** The tests act as a cluster admin; the operator runs as the chart's ServiceAccount. */
  private final KubernetesClient client = LocalCluster.get().client();

  @Test
  void enterpriseTenantBecomesReadyWithAllItsChildren() {
    var tenant =
        tenant(
            "acme",
            Tier.ENTERPRISE,
            spec -> {
              spec.setOwners(
                  List.of(
                      new TenantOwner(TenantOwner.Kind.User, "ana@acme.mx", null),
                      new TenantOwner(TenantOwner.Kind.Group, "acme-ops", null),
                      new TenantOwner(TenantOwner.Kind.ServiceAccount, "deployer", "ci")));
              spec.setResources(Map.of("cpu", new Quantity("8")));
            });
    client.resource(tenant).create();

    var ready = awaitReady("acme");
    assertThat(ArgoCdScripts.health(client, ready))
        .isEqualTo(new ArgoCdScripts.Health("Healthy", readyCondition(ready).getMessage()));
    assertThat(ready.getStatus().getNamespace()).isEqualTo("tenant-acme");
    assertThat(ready.getStatus().getObservedGeneration()).isEqualTo(1L);
    assertThat(ready.getStatus().getEffectiveLimits()).isEqualTo(new TenantLimits(20, 1000, 6000));
    assertThat(ready.getStatus().getConditions())
        .extracting(Condition::getType, Condition::getStatus)
        .contains(
            org.assertj.core.groups.Tuple.tuple("NamespaceReady", "True"),
            org.assertj.core.groups.Tuple.tuple("QuotaReady", "True"),
            org.assertj.core.groups.Tuple.tuple("IsolationReady", "True"),
            org.assertj.core.groups.Tuple.tuple("AccessReady", "True"));

    var namespace = client.namespaces().withName("tenant-acme").get();
    assertThat(namespace.getMetadata().getLabels())
        .containsEntry(Tenant.TENANT_LABEL, "acme")
        .containsEntry("pod-security.kubernetes.io/enforce", "baseline");
    assertThat(namespace.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(ref -> assertThat(ref.getUid()).isEqualTo(ready.getMetadata().getUid()));

    var quota = child(ResourceQuota.class, "tenant-acme", TenantResourceQuota.NAME);
    // Tier default pods=100, overridden cpu=8 from the spec.
    assertThat(quota.getSpec().getHard())
        .containsEntry("pods", new Quantity("100"))
        .containsEntry("cpu", new Quantity("8"))
        .containsEntry("count/jobs.batch", new Quantity("200"));
    var limits = child(LimitRange.class, "tenant-acme", TenantLimitRange.NAME);
    assertThat(limits.getSpec().getLimits().get(0).getDefault())
        .containsEntry("cpu", new Quantity("500m"));
    var policy = child(NetworkPolicy.class, "tenant-acme", TenantNetworkPolicy.NAME);
    assertThat(policy.getSpec().getIngress().get(0).getFrom().get(1).getNamespaceSelector())
        .satisfies(
            s ->
                assertThat(s.getMatchExpressions().get(0).getKey()).isEqualTo(Tenant.TENANT_LABEL));
    var owners = child(RoleBinding.class, "tenant-acme", TenantOwnerRoleBinding.NAME);
    assertThat(owners.getRoleRef().getName()).isEqualTo("edit");
    assertThat(owners.getSubjects())
        .extracting(s -> s.getKind() + ":" + s.getName())
        .containsExactly("User:ana@acme.mx", "Group:acme-ops", "ServiceAccount:deployer");

    // The owners really can edit their namespace and nothing else.
    var cluster = LocalCluster.get();
    assertThat(
            cluster
                .kubectl(
                    "auth",
                    "can-i",
                    "create",
                    "deployments",
                    "-n",
                    "tenant-acme",
                    "--as",
                    "ana@acme.mx")
                .strip())
        .isEqualTo("yes");
    assertThat(
            cluster
                .kubectlResult(
                    "auth",
                    "can-i",
                    "create",
                    "deployments",
                    "-n",
                    "default",
                    "--as",
                    "ana@acme.mx")
                .output()
                .strip())
        .startsWith("no");
  }

  @Test
  void specLimitsOverrideTheTierAndShowInStatus() {
    client
        .resource(
            tenant("tiny", Tier.STARTUP, spec -> spec.setLimits(new TenantLimits(2, null, 120))))
        .create();
    var ready = awaitReady("tiny");
    assertThat(ready.getStatus().getEffectiveLimits()).isEqualTo(new TenantLimits(2, 100, 120));
  }

  @Test
  void driftIsRepairedAndAnnounced() {
    client.resource(tenant("drift", Tier.STARTUP, spec -> {})).create();
    awaitReady("drift");

    client
        .resources(ResourceQuota.class)
        .inNamespace("tenant-drift")
        .withName(TenantResourceQuota.NAME)
        .delete();
    client
        .resources(NetworkPolicy.class)
        .inNamespace("tenant-drift")
        .withName(TenantNetworkPolicy.NAME)
        .delete();
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(find(ResourceQuota.class, "tenant-drift", TenantResourceQuota.NAME))
                  .isPresent();
              assertThat(find(NetworkPolicy.class, "tenant-drift", TenantNetworkPolicy.NAME))
                  .isPresent();
            });

    // An edit by hand is undone as well.
    client
        .resources(ResourceQuota.class)
        .inNamespace("tenant-drift")
        .withName(TenantResourceQuota.NAME)
        .edit(
            q -> {
              q.getSpec().getHard().put("pods", new Quantity("1000"));
              return q;
            });
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(
                        child(ResourceQuota.class, "tenant-drift", TenantResourceQuota.NAME)
                            .getSpec()
                            .getHard())
                    .containsEntry("pods", new Quantity("20")));

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(eventsFor("drift"))
                    .anySatisfy(
                        e -> assertThat(e).contains("DriftRepaired").contains("ResourceQuota")));
  }

  @Test
  void invalidSpecsAreRefusedByTheApiServerWithWhatToFix() {
    var cluster = LocalCluster.get();
    var refused =
        cluster.kubectlResult(
            "apply",
            "-f",
            LocalCluster.projectDir().resolve("src/test/resources/invalid-tenant.yaml").toString());
    assertThat(refused.exitCode()).isNotZero();
    assertThat(refused.output())
        .contains("maxConcurrentJobs cannot exceed maxDailyJobs")
        .contains("tier 'custom' has no defaults")
        .contains("an owner of kind ServiceAccount needs the namespace")
        .contains("namespace cannot be 'default' or a kube-* system namespace");

    client
        .resource(tenant("fixed-ns", Tier.STARTUP, spec -> spec.setNamespace("tenant-fixed-a")))
        .create();
    var moved =
        cluster.kubectlResult(
            "patch",
            "tenant",
            "fixed-ns",
            "--type=merge",
            "-p",
            "{\"spec\":{\"namespace\":\"tenant-fixed-b\"}}");
    assertThat(moved.exitCode()).isNotZero();
    assertThat(moved.output()).contains("namespace is immutable");
  }

  @Test
  void aNamespaceOutsideThePlatformsTenantNamespacesIsRefusedWhenApplied() {
    var cluster = LocalCluster.get();
    var refused =
        cluster.kubectlResult(
            "create", "--dry-run=server", "--filename=" + manifest("monitoreo", "monitoring"));
    assertThat(refused.exitCode()).isNotZero();
    assertThat(refused.output())
        .contains(
            "spec.namespace monitoring is not a tenant namespace on this platform: it must start"
                + " with tenant-");
    var allowed =
        cluster.kubectlResult(
            "create", "--dry-run=server", "--filename=" + manifest("propio", "tenant-propio"));
    assertThat(allowed.exitCode()).as(allowed.output()).isZero();
  }

  private static String manifest(String name, String namespace) {
    try {
      var file = java.nio.file.Files.createTempFile("tenant", ".yaml");
      java.nio.file.Files.writeString(
          file,
          """
          apiVersion: robusto.dev/v1alpha1
          kind: Tenant
          metadata: {name: %s}
          spec: {tier: startup, namespace: %s}
          """
              .formatted(name, namespace));
      return file.toString();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void anExistingNamespaceIsNeverAdopted() {
    client
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName("tenant-someone-elses")
                .endMetadata()
                .build())
        .create();
    client
        .resource(
            tenant("squatter", Tier.STARTUP, spec -> spec.setNamespace("tenant-someone-elses")))
        .create();

    var conflicted = awaitCondition("squatter", "NamespaceConflict", "True");
    assertThat(readyCondition(conflicted))
        .satisfies(
            c -> {
              assertThat(c.getStatus()).isEqualTo("False");
              assertThat(c.getReason()).isEqualTo("NamespaceConflict");
              assertThat(c.getMessage()).contains("tenant-someone-elses").contains("never adopts");
            });
    // Nothing happens until a person settles it: Flux and Argo CD say so at once.
    assertThat(conflicted.getStatus().getConditions())
        .filteredOn(c -> c.getType().equals("Stalled"))
        .singleElement()
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"));
    assertThat(ArgoCdScripts.health(client, conflicted))
        .isEqualTo(new ArgoCdScripts.Health("Degraded", readyCondition(conflicted).getMessage()));
    var untouched = client.namespaces().withName("tenant-someone-elses").get();
    assertThat(untouched.getMetadata().getOwnerReferences()).isEmpty();
    assertThat(untouched.getMetadata().getLabels()).doesNotContainKey(Tenant.TENANT_LABEL);
    assertThat(find(ResourceQuota.class, "tenant-someone-elses", TenantResourceQuota.NAME))
        .isEmpty();

    // Another tenant's namespace is refused too, and the message names its owner.
    client.resource(tenant("first", Tier.STARTUP, spec -> {})).create();
    awaitReady("first");
    client
        .resource(tenant("second", Tier.STARTUP, spec -> spec.setNamespace("tenant-first")))
        .create();
    var second = awaitCondition("second", "NamespaceConflict", "True");
    assertThat(readyCondition(second).getMessage()).contains("belongs to Tenant 'first'");
    assertThat(
            client.namespaces().withName("tenant-first").get().getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(ref -> assertThat(ref.getName()).isEqualTo("first"));
  }

  @Test
  void deletingATenantDeletesItsNamespaceAndEverythingInIt() {
    client.resource(tenant("leaving", Tier.STARTUP, spec -> {})).create();
    awaitReady("leaving");
    client.resources(Tenant.class).withName("leaving").delete();
    await()
        .atMost(Duration.ofSeconds(90))
        .untilAsserted(
            () -> assertThat(client.namespaces().withName("tenant-leaving").get()).isNull());
  }

  @Test
  void aTenantTakingOverANamespaceStillBeingDeletedWaitsForItWithoutStalling() {
    client.resource(tenant("viejo", Tier.STARTUP, spec -> {})).create();
    awaitReady("viejo");
    // Something in it holds the namespace in deletion until the test lets go.
    client
        .configMaps()
        .inNamespace("tenant-viejo")
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName("hold")
                .withFinalizers("robusto.dev/test-hold")
                .endMetadata()
                .build())
        .create();
    client.resources(Tenant.class).withName("viejo").delete();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                client
                        .namespaces()
                        .withName("tenant-viejo")
                        .get()
                        .getMetadata()
                        .getDeletionTimestamp()
                    != null);

    // The same namespace under a new Tenant (a rename in one GitOps sync): it ends by itself.
    client
        .resource(tenant("nuevo", Tier.STARTUP, spec -> spec.setNamespace("tenant-viejo")))
        .create();
    var waiting = awaitCondition("nuevo", "NamespaceConflict", "True");
    assertThat(readyCondition(waiting).getMessage())
        .isEqualTo(
            "Namespace 'tenant-viejo' is being deleted; this Tenant creates it anew once it is"
                + " gone.");
    assertThat(waiting.getStatus().getConditions()).noneMatch(c -> c.getType().equals("Stalled"));
    assertThat(ArgoCdScripts.health(client, waiting).status()).isEqualTo("Progressing");

    client
        .configMaps()
        .inNamespace("tenant-viejo")
        .withName("hold")
        .edit(
            cm -> {
              cm.getMetadata().setFinalizers(List.of());
              return cm;
            });
    var ready = awaitReady("nuevo");
    assertThat(ready.getStatus().getNamespace()).isEqualTo("tenant-viejo");
    assertThat(ArgoCdScripts.health(client, ready).status()).isEqualTo("Healthy");
  }

  @Test
  void turningIsolationOffRemovesThePolicyAndSuspensionZeroesTheQuota() {
    client.resource(tenant("toggle", Tier.STARTUP, spec -> {})).create();
    awaitReady("toggle");
    client
        .resources(Tenant.class)
        .withName("toggle")
        .edit(
            t -> {
              t.getSpec().setIsolation(false);
              t.getSpec().setSuspended(true);
              return t;
            });
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(find(NetworkPolicy.class, "tenant-toggle", TenantNetworkPolicy.NAME))
                  .isEmpty();
              assertThat(
                      child(ResourceQuota.class, "tenant-toggle", TenantResourceQuota.NAME)
                          .getSpec()
                          .getHard())
                  .containsEntry("pods", new Quantity("0"))
                  .containsEntry("count/jobs.batch", new Quantity("0"));
              var ready = readyCondition(client.resources(Tenant.class).withName("toggle").get());
              assertThat(ready.getReason()).isEqualTo("Suspended");
              assertThat(ready.getMessage()).contains("spec.suspended");
            });
    var suspended = client.resources(Tenant.class).withName("toggle").get();
    assertThat(ArgoCdScripts.health(client, suspended).status()).isEqualTo("Suspended");
  }

  @Test
  void aReconcileWithNothingChangedWritesNothing() throws Exception {
    client.resource(tenant("steady", Tier.ENTERPRISE, spec -> {})).create();
    awaitReady("steady");
    var settled = new java.util.concurrent.atomic.AtomicReference<Map<String, String>>();
    await("the last writes' events have settled: nothing changes for 2 s")
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(30))
        .until(() -> versions("steady").equals(settled.getAndSet(versions("steady"))));
    var before = versions("steady");
    var reconciles = tenantReconciles();

    // A label someone else adds to the namespace triggers a reconcile that must change nothing.
    client
        .namespaces()
        .withName("tenant-steady")
        .edit(
            ns -> {
              ns.getMetadata().getLabels().put("team", "billing");
              return ns;
            });
    await("the label brought a reconcile")
        .atMost(Duration.ofSeconds(30))
        .until(() -> tenantReconciles() > reconciles);
    await("which changed nothing")
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5))
        .until(() -> versions("steady").equals(before));
    var after = versions("steady");
    assertThat(after.get("tenant")).isEqualTo(before.get("tenant"));
    assertThat(after.get("quota")).isEqualTo(before.get("quota"));
    assertThat(after.get("limits")).isEqualTo(before.get("limits"));
    assertThat(after.get("policy")).isEqualTo(before.get("policy"));
    assertThat(after.get("owners")).isEqualTo(before.get("owners"));
    assertThat(client.namespaces().withName("tenant-steady").get().getMetadata().getLabels())
        .containsEntry("team", "billing");
  }

  /** Successful Tenant reconciles so far, from the operator's own metrics. */
  private double tenantReconciles() throws Exception {
    var body =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(metrics.toURI()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString())
            .body();
    var matcher =
        java.util.regex.Pattern.compile(
                "^operator_sdk_controllers_execution_reconcile_success_total\\{controller=\"tenant\".*} ([0-9.E]+)$",
                java.util.regex.Pattern.MULTILINE)
            .matcher(body);
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
  }

  private Map<String, String> versions(String name) {
    var ns = "tenant-" + name;
    return Map.of(
        "tenant",
            client.resources(Tenant.class).withName(name).get().getMetadata().getResourceVersion(),
        "quota",
            child(ResourceQuota.class, ns, TenantResourceQuota.NAME)
                .getMetadata()
                .getResourceVersion(),
        "limits",
            child(LimitRange.class, ns, TenantLimitRange.NAME).getMetadata().getResourceVersion(),
        "policy",
            child(NetworkPolicy.class, ns, TenantNetworkPolicy.NAME)
                .getMetadata()
                .getResourceVersion(),
        "owners",
            child(RoleBinding.class, ns, TenantOwnerRoleBinding.NAME)
                .getMetadata()
                .getResourceVersion());
  }

  @Test
  void aSpecTheOperatorCannotPlanFromStallsUntilFixedAndGitOpsToolsSayWhy() {
    // The CRD cannot see the tier's defaults, so this passes the API server: 150 workers at once
    // on a startup tenant, whose day allows 100 tickets, is refused by the operator alone.
    client
        .resource(
            tenant(
                "greedy", Tier.STARTUP, spec -> spec.setLimits(new TenantLimits(150, null, null))))
        .create();

    var stalled = awaitCondition("greedy", "Stalled", "True");
    assertThat(readyCondition(stalled).getReason()).isEqualTo("InvalidSpec");
    assertThat(ArgoCdScripts.health(client, stalled))
        .satisfies(h -> assertThat(h.status()).isEqualTo("Degraded"))
        .satisfies(
            h ->
                assertThat(h.message())
                    .contains("limits.maxConcurrentJobs (150) exceeds the daily limit (100")
                    .contains("set limits.maxDailyJobs"));

    client
        .resources(Tenant.class)
        .withName("greedy")
        .edit(
            t -> {
              t.getSpec().setLimits(new TenantLimits(150, 1000, null));
              return t;
            });
    var fixed = awaitReady("greedy");
    assertThat(fixed.getStatus().getConditions()).noneMatch(c -> c.getType().equals("Stalled"));
    assertThat(ArgoCdScripts.health(client, fixed).status()).isEqualTo("Healthy");
  }

  private Tenant awaitReady(String name) {
    return awaitCondition(name, "Ready", "True");
  }

  private Tenant awaitCondition(String name, String type, String status) {
    return awaitCondition(client, name, type, status);
  }

  /** Waits until the Tenant has the condition with that status, and returns it. */
  static Tenant awaitCondition(KubernetesClient client, String name, String type, String status) {
    return await()
        .atMost(READY_TIMEOUT)
        .until(
            () -> client.resources(Tenant.class).withName(name).get(),
            t ->
                t != null
                    && t.getStatus() != null
                    && t.getStatus().getConditions().stream()
                        .anyMatch(c -> c.getType().equals(type) && c.getStatus().equals(status)));
  }

  private static Condition readyCondition(Tenant tenant) {
    return tenant.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready"))
        .findFirst()
        .orElseThrow();
  }

  private <T extends io.fabric8.kubernetes.api.model.HasMetadata> T child(
      Class<T> type, String namespace, String name) {
    return find(type, namespace, name)
        .orElseThrow(
            () ->
                new AssertionError(
                    type.getSimpleName() + " " + namespace + "/" + name + " missing"));
  }

  private <T extends io.fabric8.kubernetes.api.model.HasMetadata> Optional<T> find(
      Class<T> type, String namespace, String name) {
    return Optional.ofNullable(client.resources(type).inNamespace(namespace).withName(name).get());
  }

  private List<String> eventsFor(String tenant) {
    return client.v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> tenant.equals(e.getInvolvedObject().getName()))
        .map(e -> e.getReason() + " " + e.getMessage())
        .toList();
  }
}
