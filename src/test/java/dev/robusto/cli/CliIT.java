package dev.robusto.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.AutomationBatch;
import dev.robusto.batch.AutomationBatchSpec;
import dev.robusto.deployment.AutomationDeployment;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FeatureFlagSpec;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantOwner;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestFleets;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The robusto CLI as a person runs it, against the local cluster and the running operator: a
 * tenant's tree, a batch watched to its end over the operator's stream, an order to a fleet, a flag
 * evaluated over OFREP, the audit chain verified; and each mistake answered with what to do.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class CliIT {

  @jakarta.inject.Inject dev.robusto.audit.OutcomeCustody outcomeCustody;

  private static final String TENANT = "consola";
  private static final String NAMESPACE = "tenant-consola";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TestHTTPResource("/")
  URL operatorUrl;

  private final LocalCluster cluster = LocalCluster.get();

  private record Run(int code, String out, String err) {}

  private Run robusto(String... args) {
    return robustoAt("http://127.0.0.1:" + operatorUrl.getPort(), args);
  }

  private Run robustoAt(String operator, String... args) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var all = new ArrayList<>(List.of("--operator", operator));
    all.addAll(List.of(args));
    var code =
        RobustoCli.run(
            all.toArray(String[]::new),
            Map.of(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            cluster::client);
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aPersonFollowsATenantItsBatchItsFleetItsFlagsAndTheAuditTrail() throws Exception {
    var client = cluster.client();
    client
        .resource(
            TestTenants.tenant(
                TENANT,
                Tier.STARTUP,
                spec ->
                    spec.setOwners(
                        List.of(
                            new TenantOwner(TenantOwner.Kind.ServiceAccount, "ci", NAMESPACE)))))
        .create();
    await("the tenant is Ready")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              var t = client.resources(Tenant.class).withName(TENANT).get();
              return t.getStatus() != null
                  && t.getStatus().getConditions().stream()
                      .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
            });
    cluster.kubectl("create", "serviceaccount", "ci", "-n", NAMESPACE);
    var owner = cluster.kubectl("create", "token", "ci", "-n", NAMESPACE).strip();

    // A batch, watched over the operator's stream until it is done.
    client.resource(batch(40)).create();
    try (var node =
        new LocalNode(client, NAMESPACE, "robusto-operator:dev", WorkerProcesses.LOGS)) {
      await("the batch is queued")
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                var b =
                    client
                        .resources(AutomationBatch.class)
                        .inNamespace(NAMESPACE)
                        .withName("cli")
                        .get();
                return b.getStatus() != null && b.getStatus().counts != null;
              });
      // Options after the command, as the README writes them.
      var watch = robusto("batch", "watch", "cli", "-n", NAMESPACE, "--token", owner);
      assertThat(watch.code()).as(watch.err()).isZero();
      var lines = watch.out().lines().toList();
      assertThat(lines).isNotEmpty().allMatch(l -> l.startsWith("cli ["));
      assertThat(lines.get(lines.size() - 1))
          .startsWith("cli [" + "#".repeat(30) + "] 40/40  succeeded 40  failed 0  dead 0")
          .endsWith("Succeeded");
    }

    // The batch's controls: suspend and resume (spec.suspend), its dead letters, a redrive.
    var suspend = robusto("batch", "suspend", "cli", "-n", NAMESPACE);
    assertThat(suspend.code()).as(suspend.err()).isZero();
    assertThat(suspend.out()).contains("AutomationBatch tenant-consola/cli suspended");
    assertThat(batchSpec(client).suspend).isTrue();
    var resume = robusto("batch", "resume", "cli", "-n", NAMESPACE);
    assertThat(resume.code()).as(resume.err()).isZero();
    assertThat(batchSpec(client).suspend).isFalse();
    var dead = robusto("batch", "dead-letters", "cli", "-n", NAMESPACE, "--token", owner);
    assertThat(dead.code()).as(dead.err()).isZero();
    assertThat(dead.out()).isEqualTo("0 dead-lettered tickets.\n");
    var redrive = robusto("batch", "redrive", "cli", "-n", NAMESPACE, "--token", owner);
    assertThat(redrive.code()).as(redrive.err()).isZero();
    assertThat(redrive.out()).startsWith("Redrive 1 of AutomationBatch tenant-consola/cli asked");
    await("the operator carries the redrive out")
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              var b =
                  client.resources(AutomationBatch.class).inNamespace(NAMESPACE).withName("cli");
              var s = b.get().getStatus();
              return s.lastRedrive != null && s.lastRedrive.generation == 1;
            });
    var cancel = robusto("batch", "cancel", "cli", "cli-0", "-n", NAMESPACE, "--token", owner);
    assertThat(cancel.code()).as("a finished ticket is not cancelled").isEqualTo(1);
    assertThat(cancel.out()).startsWith("cli-0 not cancelled: ").contains("finished already");
    var noBatch = robusto("batch", "suspend", "nadie", "-n", NAMESPACE);
    assertThat(noBatch.code()).isEqualTo(1);
    assertThat(noBatch.err()).contains("No AutomationBatch nadie in namespace tenant-consola");

    // The tenant's tree.
    var status = robusto("status", TENANT);
    assertThat(status.code()).as(status.err()).isZero();
    assertThat(status.out())
        .startsWith("Tenant consola (startup): Ready")
        .contains("├─ namespace tenant-consola")
        .contains("limits: 3 workers at once, 100 tickets a day")
        .contains("40 of 100 tickets admitted")
        .contains("cli: Succeeded, 40 of 40 succeeded, 0 failed, 0 dead-lettered, 0 pending");

    // An order to a fleet: the operator carries it out and says so.
    client.resource(TestFleets.fleet(NAMESPACE, "flota", 1, "10ms", "5s")).create();
    var promote = robusto("fleet", "promote", "flota", "-n", NAMESPACE);
    assertThat(promote.code()).as(promote.err()).isZero();
    assertThat(promote.out())
        .contains("Asked AutomationDeployment tenant-consola/flota to promote");
    await("the operator carries the order out")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              var fleet =
                  client
                      .resources(AutomationDeployment.class)
                      .inNamespace(NAMESPACE)
                      .withName("flota")
                      .get();
              assertThat(fleet.getStatus()).isNotNull();
              assertThat(fleet.getStatus().lastAction).startsWith("promote");
              assertThat(fleet.getMetadata().getAnnotations())
                  .doesNotContainKey(AutomationDeployment.ACTION_ANNOTATION);
            });
    var missing = robusto("fleet", "rollback", "nada", "3", "-n", NAMESPACE);
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.err()).contains("No AutomationDeployment nada in namespace tenant-consola");

    // A flag, as the tenant's workloads get it over OFREP; and in the tree.
    client.resource(flag()).create();
    await("the flag is served")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(
                        robusto(
                                "--token",
                                owner,
                                "flag",
                                "eval",
                                "consola-captcha",
                                "--tenant",
                                TENANT)
                            .out())
                    .isEqualTo(
                        "consola-captcha for tenant consola: true (variant on, reason"
                            + " TARGETING_MATCH)\n"));
    var foreign = robusto("--token", owner, "flag", "eval", "consola-captcha", "--tenant", "otro");
    assertThat(foreign.code()).isEqualTo(1);
    assertThat(foreign.err()).contains("403").contains("You speak for tenant consola");
    assertThat(robusto("status", TENANT).out())
        .contains("consola-captcha: variant on (this tenant's override)");

    // The audit trail, verified by the operator for an auditor, refused to a tenant's owner.
    var system = LocalCluster.RELEASE_NAMESPACE;
    cluster.kubectl("create", "serviceaccount", "cli-auditor", "-n", system);
    cluster.kubectl(
        "create",
        "clusterrolebinding",
        "cli-auditor-reads-audit",
        "--clusterrole",
        LocalCluster.RELEASE + "-audit-reader",
        "--serviceaccount",
        system + ":cli-auditor");
    var auditor = cluster.kubectl("create", "token", "cli-auditor", "-n", system).strip();
    var verify = robusto("--token", auditor, "audit", "verify");
    assertThat(verify.code()).as(verify.err()).isZero();
    assertThat(verify.out()).startsWith("audit chain intact: ");
    var notAllowed = robusto("--token", owner, "audit", "verify");
    assertThat(notAllowed.code()).isEqualTo(1);
    assertThat(notAllowed.err()).contains("The operator answered 403");

    // The owner's own reports: the month's CFDI lines (40 tickets, totals 0 + 10 + ... + 390)
    // and its tenant's entries in the trail.
    var report = robusto("--token", owner, "tenant", "cfdi-report", TENANT);
    assertThat(report.code()).as(report.err()).isZero();
    assertThat(report.out())
        .contains("CFDI report of consola")
        .containsPattern("\\(none\\)\\s+succeeded\\s+40\\s+7800\\s+0")
        .contains("invoiced: 40 tickets, 7800 MXN");
    var csv = robusto("--token", owner, "tenant", "cfdi-report", TENANT, "--csv");
    assertThat(csv.out())
        .isEqualTo(
            "merchant,state,tickets,total_mxn,tickets_without_total\n,succeeded,40,7800,0\n");
    var entries = robusto("--token", owner, "audit", "entries", "--tenant", TENANT, "--limit", "3");
    assertThat(entries.code()).as(entries.err()).isZero();
    assertThat(entries.out().lines()).hasSize(3).allSatisfy(l -> assertThat(l).contains(" by "));
    var everyone = robusto("--token", owner, "audit", "entries");
    assertThat(everyone.code()).isEqualTo(1);
    assertThat(everyone.err()).contains("403");

    // The auditor's change report over a period: every entry, as CSV, page after page.
    var period =
        robusto(
            "--token",
            auditor,
            "audit",
            "report",
            "--from",
            java.time.Instant.now().minus(Duration.ofHours(1)).toString(),
            "--to",
            java.time.Instant.now().plus(Duration.ofMinutes(1)).toString(),
            "--tenant",
            TENANT);
    assertThat(period.code()).as(period.err()).isZero();
    var rows = period.out().lines().toList();
    assertThat(rows.get(0))
        .isEqualTo("seq,at,actor,action,resource,tenant,before_hash,after_hash,hash,actor_groups");
    assertThat(rows.subList(1, rows.size()))
        .isNotEmpty()
        .allSatisfy(row -> assertThat(row.split(",", -1)).hasSize(10).contains(TENANT));

    // The chain of custody of the tickets this test's batch finished (chained now, as the leader
    // does every few seconds outside tests).
    assertThat(outcomeCustody.chain()).isPositive();
    var custody = robusto("--token", auditor, "audit", "custody");
    assertThat(custody.code()).as(custody.err()).isZero();
    assertThat(custody.out())
        .startsWith("chain of custody intact: ")
        .doesNotStartWith("chain of custody intact: 0 ");
  }

  @Test
  void mistakesAreAnsweredWithWhatToDo() {
    var noTenant = robusto("status", "nadie");
    assertThat(noTenant.code()).isEqualTo(1);
    assertThat(noTenant.err()).contains("No Tenant nadie. kubectl get tenants lists them.");

    // Without --token, the kubeconfig's: the local cluster's admin token.
    var asAdmin = robusto("audit", "verify");
    assertThat(asAdmin.code()).as(asAdmin.err()).isZero();
    // A kubeconfig without a token (a client certificate, say) has none to send.
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var noToken =
        RobustoCli.run(
            new String[] {
              "--operator", "http://127.0.0.1:" + operatorUrl.getPort(), "audit", "verify"
            },
            Map.of(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            () ->
                new KubernetesClientBuilder()
                    .withConfig(
                        new ConfigBuilder(cluster.config())
                            .withOauthToken(null)
                            .withAutoOAuthToken(null)
                            .build())
                    .build());
    assertThat(noToken).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("pass --token \"$(kubectl create token");

    var badToken = robusto("--token", "not-a-token", "audit", "verify");
    assertThat(badToken.code()).isEqualTo(1);
    assertThat(badToken.err()).contains("The operator refused the token (401)");

    var unreachable = robustoAt("http://127.0.0.1:9", "--token", "t", "audit", "verify");
    assertThat(unreachable.code()).isEqualTo(1);
    assertThat(unreachable.err())
        .contains("Cannot reach the operator at http://127.0.0.1:9")
        .contains("port-forward svc/robusto-operator 8080:8080");

    var cleartext = robustoAt("http://robusto.example:8080", "audit", "verify");
    assertThat(cleartext.code()).isEqualTo(1);
    assertThat(cleartext.err())
        .contains(
            "Refusing to send your kubeconfig's token over plain http to"
                + " http://robusto.example:8080");

    var usage = robusto("fleet", "rollback", "flota");
    assertThat(usage.code()).isEqualTo(2);
    assertThat(usage.err()).contains("Missing required parameter: 'REVISION'");
  }

  private static AutomationBatch batch(int tickets) {
    var batch = new AutomationBatch();
    batch.setMetadata(new ObjectMetaBuilder().withName("cli").withNamespace(NAMESPACE).build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.simulated = new AutomationBatchSpec.Simulated();
    spec.processor.simulated.meanLatency = "20ms";
    spec.parallelism = 2;
    spec.items =
        IntStream.range(0, tickets)
            .mapToObj(
                i -> {
                  var item = new AutomationBatchSpec.Item();
                  item.key = "cli-" + i;
                  item.payload = JSON.createObjectNode().put("folio", i).put("total", 10 * i);
                  return item;
                })
            .toList();
    batch.setSpec(spec);
    return batch;
  }

  private static FeatureFlag flag() {
    var flag = new FeatureFlag();
    flag.setMetadata(new ObjectMetaBuilder().withName("consola-captcha").build());
    var spec = new FeatureFlagSpec();
    spec.type = FeatureFlagSpec.Type.BOOLEAN;
    spec.variants = new LinkedHashMap<>();
    spec.variants.put("on", JSON.getNodeFactory().booleanNode(true));
    spec.variants.put("off", JSON.getNodeFactory().booleanNode(false));
    spec.defaultVariant = "off";
    spec.tenants = new LinkedHashMap<>(Map.of(TENANT, "on"));
    flag.setSpec(spec);
    return flag;
  }

  private static dev.robusto.batch.AutomationBatchSpec batchSpec(
      io.fabric8.kubernetes.client.KubernetesClient client) {
    return client
        .resources(AutomationBatch.class)
        .inNamespace(NAMESPACE)
        .withName("cli")
        .get()
        .getSpec();
  }
}
