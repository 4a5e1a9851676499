package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Who changed what, as an auditor reads it: two users change a Tenant and a FeatureFlag through the
 * real API server, which calls the chart's audit webhook on the operator under test over TLS; the
 * chain names each of them with their groups, the period's report lists them, and the operator's
 * own writes (finalizers, status) are not taken for requests. With the webhook unreachable, changes
 * still go through.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class AdmissionAuditIT {

  private static final String NAMESPACE = "sox-it";
  private static final PatchContext MERGE = PatchContext.of(PatchType.JSON_MERGE);
  private static final String ALICE = "kube:system:serviceaccount:" + NAMESPACE + ":alice";
  private static final String BOB = "kube:system:serviceaccount:" + NAMESPACE + ":bob";

  /** The webhook's own port, at the address the chart's certificate covers in test installs. */
  private static final URI WEBHOOK =
      URI.create("https://127.0.0.1:" + LocalClusterResource.WEBHOOK_PORT + AdmissionAudit.PATH);

  @TestHTTPResource(AdmissionAudit.PATH)
  URI onTheApiPort;

  @TestHTTPResource("/q/metrics")
  URI metricsUrl;

  @TestHTTPResource("/api/v1/audit/entries")
  String entriesUrl;

  @TestHTTPResource("/api/v1/audit/verify")
  String verifyUrl;

  @Test
  void twoUsersChangesAreRecordedUnderTheirNamesAndTheReportNamesThem() throws Exception {
    var cluster = LocalCluster.get();
    var from = Instant.now().minusSeconds(1);
    var auditor = users(cluster);
    webhook(cluster, WEBHOOK.toString());
    try (var alice = as(cluster, "alice");
        var bob = as(cluster, "bob")) {
      awaitWebhookCalled(alice, auditor);
      var failedOpen = failedOpen(cluster);

      alice.resource(TestTenants.tenant("sox-acme", Tier.STARTUP, spec -> {})).create();
      TestTenants.awaitReady(alice, "sox-acme");
      // Merge patches, as kubectl patch sends them: the operator's finalizer may land in between.
      bob.resources(Tenant.class)
          .withName("sox-acme")
          .patch(MERGE, "{\"spec\": {\"tier\": \"enterprise\"}}");
      // A dry run changes nothing, so it is not recorded.
      bob.resources(Tenant.class)
          .withName("sox-acme")
          .dryRun()
          .patch(MERGE, "{\"spec\": {\"tier\": \"startup\"}}");
      alice.resource(flag("sox-flag", "on")).create();
      bob.genericKubernetesResources("robusto.dev/v1alpha1", "FeatureFlag")
          .withName("sox-flag")
          .patch(MERGE, "{\"spec\": {\"defaultVariant\": \"off\"}}");
      alice
          .genericKubernetesResources("robusto.dev/v1alpha1", "FeatureFlag")
          .withName("sox-flag")
          .delete();

      var tenantEntries =
          awaitRecorded(auditor, "Tenant/sox-acme", from, BOB + " update", ALICE + " create");
      var create =
          tenantEntries.stream()
              .filter(e -> e.path("actor").asText().equals(ALICE))
              .findFirst()
              .orElseThrow();
      var update =
          tenantEntries.stream()
              .filter(e -> e.path("actor").asText().equals(BOB))
              .findFirst()
              .orElseThrow();
      assertThat(create.path("tenant").asText()).isEqualTo("sox-acme");
      assertThat(create.path("beforeHash").isNull()).isTrue();
      assertThat(create.path("afterHash").asText()).hasSize(64);
      assertThat(update.path("beforeHash").asText()).isEqualTo(create.path("afterHash").asText());
      assertThat(groups(create))
          .containsExactly(
              "system:authenticated", "system:serviceaccounts", "system:serviceaccounts:sox-it");

      awaitRecorded(
          auditor,
          "FeatureFlag/sox-flag",
          from,
          ALICE + " delete",
          BOB + " update",
          ALICE + " create");

      // The operator's own writes to them (its finalizer, the status) are not requests.
      var operatorsRequests =
          entries(
              auditor,
              "actor",
              "kube:system:serviceaccount:robusto-system:" + LocalCluster.RELEASE,
              from);
      assertThat(operatorsRequests).isEmpty();

      // The API server took every answer: none of these calls failed open.
      assertThat(failedOpen(cluster)).isEqualTo(failedOpen);

      // The chain, groups and all, still verifies: the database and the verifier hash alike.
      var verify = get(verifyUrl + "?full=true", auditor);
      assertThat(verify.statusCode()).as(verify.body()).isEqualTo(200);
    } finally {
      webhook(cluster, null);
    }
  }

  /**
   * The webhook's port is not the API server's alone (the chart's NetworkPolicy keeps tenants off
   * it): a request the API server would not send is answered, allowed, and not recorded.
   */
  @Test
  void aMadeUpRequestIsAllowedAndNotRecorded() throws Exception {
    var madeUp =
        """
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
         "request": {"uid": "u-1", "kind": {"group": "robusto.dev", "version": "v1alpha1", "kind": "Tenant"},
           "operation": "CONNECT", "name": "victima",
           "userInfo": {"username": "mallory", "groups": ["system:masters"]},
           "object": {"spec": {"tier": "enterprise"}}}}
        """;
    var before = invalidCount();
    var answer = post(madeUp);
    assertThat(answer.statusCode()).isEqualTo(200);
    var response = new ObjectMapper().readTree(answer.body()).path("response");
    assertThat(response.path("uid").asText()).isEqualTo("u-1");
    assertThat(response.path("allowed").asBoolean()).isTrue();
    await("counted as invalid").atMost(Duration.ofSeconds(10)).until(() -> invalidCount() > before);

    // Not on the APIs' port at all.
    var plain =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(onTheApiPort)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(madeUp))
                    .build(),
                BodyHandlers.ofString());
    assertThat(plain.statusCode()).isIn(404, 405);
  }

  private double invalidCount() throws Exception {
    var metrics =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(metricsUrl).build(), BodyHandlers.ofString())
            .body();
    return metrics
        .lines()
        .filter(l -> l.startsWith("robusto_admission_audit_requests_total{result=\"invalid\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  /** Posts to the webhook as the API server does: over TLS, trusting the chart's CA. */
  private static java.net.http.HttpResponse<String> post(String review) throws Exception {
    var ca =
        java.security.cert.CertificateFactory.getInstance("X.509")
            .generateCertificate(
                java.nio.file.Files.newInputStream(LocalClusterResource.tls.resolve("ca.crt")));
    var trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("robusto-ca", ca);
    var factory =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    var tls = javax.net.ssl.SSLContext.getInstance("TLS");
    tls.init(null, factory.getTrustManagers(), null);
    return HttpClient.newBuilder()
        .sslContext(tls)
        .build()
        .send(
            HttpRequest.newBuilder(WEBHOOK)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(review))
                .build(),
            BodyHandlers.ofString());
  }

  @Test
  void withTheWebhookUnreachableChangesStillGoThrough() throws Exception {
    var cluster = LocalCluster.get();
    webhook(cluster, "https://127.0.0.1:9/admission/audit"); // nothing listens: the operator down
    try (var admin = cluster.client()) {
      var started = System.nanoTime();
      admin.resource(flag("sox-while-down", "on")).create();
      admin
          .genericKubernetesResources("robusto.dev/v1alpha1", "FeatureFlag")
          .withName("sox-while-down")
          .delete();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    } finally {
      webhook(cluster, null);
    }
  }

  /** The API server's count of calls to the audit webhook that failed and were let through. */
  private static double failedOpen(LocalCluster cluster) {
    return cluster
        .kubectl("get", "--raw", "/metrics")
        .lines()
        .filter(l -> l.startsWith("apiserver_admission_webhook_fail_open_count{"))
        .filter(l -> l.contains("name=\"audit.robusto.dev\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  /** Turns the chart's webhook on, calling {@code url}, or off (null). */
  private static void webhook(LocalCluster cluster, String url) {
    var args = new ArrayList<>(List.of("upgrade", LocalCluster.RELEASE));
    args.add(LocalCluster.projectDir().resolve("helm/robusto-operator").toString());
    args.addAll(List.of("-n", LocalCluster.RELEASE_NAMESPACE, "--reuse-values"));
    args.addAll(List.of("--set", "admissionAudit.enabled=" + (url != null)));
    if (url != null) {
      args.addAll(List.of("--set", "admissionAudit.url=" + url));
    }
    var result = cluster.helm(args.toArray(String[]::new));
    assertThat(result.exitCode()).as(result.output()).isZero();
  }

  /** ServiceAccounts alice and bob, who may change Tenants and FeatureFlags; an auditor's token. */
  private static String users(LocalCluster cluster) {
    if (cluster.kubectlResult("get", "namespace", NAMESPACE).exitCode() != 0) {
      cluster.kubectl("create", "namespace", NAMESPACE);
      cluster.kubectl(
          "create",
          "clusterrole",
          "sox-it-editor",
          "--verb=get,list,watch,create,update,patch,delete",
          "--resource=tenants.robusto.dev,featureflags.robusto.dev");
      for (var user : List.of("alice", "bob", "auditor")) {
        cluster.kubectl("create", "serviceaccount", user, "-n", NAMESPACE);
      }
      for (var user : List.of("alice", "bob")) {
        cluster.kubectl(
            "create",
            "clusterrolebinding",
            "sox-it-" + user,
            "--clusterrole=sox-it-editor",
            "--serviceaccount=" + NAMESPACE + ":" + user);
      }
      cluster.kubectl(
          "create",
          "clusterrolebinding",
          "sox-it-auditor",
          "--clusterrole=" + LocalCluster.RELEASE + "-audit-reader",
          "--serviceaccount=" + NAMESPACE + ":auditor");
    }
    return token(cluster, "auditor");
  }

  private static String token(LocalCluster cluster, String user) {
    return cluster.kubectl("create", "token", user, "-n", NAMESPACE).strip();
  }

  private static KubernetesClient as(LocalCluster cluster, String user) {
    return new KubernetesClientBuilder()
        .withConfig(
            new ConfigBuilder(cluster.config()).withOauthToken(token(cluster, user)).build())
        .build();
  }

  /**
   * The API server picks up a new webhook configuration within seconds: a probe flag is created and
   * deleted until its creation is recorded.
   */
  private void awaitWebhookCalled(KubernetesClient client, String auditor) {
    await("the API server calls the audit webhook")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              var probe = "sox-probe-" + System.nanoTime();
              client.resource(flag(probe, "on")).create();
              client
                  .genericKubernetesResources("robusto.dev/v1alpha1", "FeatureFlag")
                  .withName(probe)
                  .delete();
              return !entries(auditor, "resource", "FeatureFlag/" + probe, null).isEmpty();
            });
  }

  private static GenericKubernetesResource flag(String name, String defaultVariant) {
    return Serialization.unmarshal(
        """
        apiVersion: robusto.dev/v1alpha1
        kind: FeatureFlag
        metadata: {name: %s}
        spec:
          type: boolean
          variants: {"on": true, "off": false}
          defaultVariant: "%s"
        """
            .formatted(name, defaultVariant),
        GenericKubernetesResource.class);
  }

  /** The entries one filter selects, newest first, recorded since {@code from}. */
  /**
   * The entries of {@code resource} since {@code from} once the requests among them are exactly
   * {@code actions}, newest first: the webhook answers the API server at once and records after.
   */
  private List<JsonNode> awaitRecorded(
      String token, String resource, Instant from, String... actions) {
    var recorded = new java.util.concurrent.atomic.AtomicReference<List<JsonNode>>();
    await("recorded: " + resource)
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              var entries = entries(token, "resource", resource, from);
              assertThat(actions(entries)).containsExactly(actions);
              recorded.set(entries);
            });
    return recorded.get();
  }

  private List<JsonNode> entries(String token, String filter, String value, Instant from)
      throws Exception {
    var url =
        entriesUrl
            + "?"
            + filter
            + "="
            + URLEncoder.encode(value, StandardCharsets.UTF_8)
            + (from == null ? "" : "&from=" + from);
    var response = get(url, token);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    var list = new ArrayList<JsonNode>();
    new ObjectMapper().readTree(response.body()).path("entries").forEach(list::add);
    return list;
  }

  /** The requests among {@code entries} (the operator's own work left out), as "actor action". */
  private static List<String> actions(List<JsonNode> entries) {
    return entries.stream()
        .filter(e -> e.path("actor").asText().startsWith(AdmissionAudit.ACTOR_PREFIX))
        .map(e -> e.path("actor").asText() + " " + e.path("action").asText())
        .toList();
  }

  private static List<String> groups(JsonNode entry) {
    var groups = new ArrayList<String>();
    entry.path("actorGroups").forEach(g -> groups.add(g.asText()));
    return groups;
  }

  private static java.net.http.HttpResponse<String> get(String url, String token) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + token)
                .build(),
            BodyHandlers.ofString());
  }
}
