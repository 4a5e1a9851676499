package dev.robusto.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FeatureFlagSpec;
import dev.robusto.localnode.LocalNode;
import dev.robusto.tenant.TenantLimits;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.Prometheus;
import dev.robusto.testing.PrometheusResource;
import dev.robusto.testing.TestFleets;
import dev.robusto.testing.TestTenants;
import dev.robusto.testing.WorkerProcesses;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * AutomationDeployment end to end on the local cluster: the operator runs each revision as an
 * apps/v1 Deployment, the controller-manager and scheduler make and place the pods, {@link
 * LocalNode} runs them as real fleet workers processing a batch's tickets against the real
 * PostgreSQL, and the canary is judged on the attempts those workers record (or by a real
 * Prometheus).
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@QuarkusTestResource(PrometheusResource.class)
@Tag("cluster")
class AutomationDeploymentIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client = LocalCluster.get().client();

  @TestHTTPResource("/q/metrics")
  URL metrics;

  @Test
  void aCanaryFailingFortyPercentIsRolledBackWithTheReasonAndTheFlagTurnedOff() throws Exception {
    var namespace = readyTenant("flota-mala");
    client.resource(flag("ff-portal-nuevo")).create();
    var killSwitch = flag("ff-portal-global");
    killSwitch.getSpec().killSwitchTenants = List.of("flota-mala");
    client.resource(killSwitch).create();
    try (var kubelet = new LocalNode(client, namespace, TestFleets.IMAGE, WorkerProcesses.LOGS)) {
      client
          .resource(
              fleet(
                  namespace,
                  "portal",
                  spec -> {
                    // A sound sample: at 20 attempts a 40 %-failing canary shows 20 % or less
                    // about once in 20; five passes in a row, needed to promote it, about once
                    // in 3 million. The first breach rolls it back. 6 s gives the stable
                    // revision's single check after the rollback its 20 attempts on a loaded
                    // machine (no data there is final).
                    var analysis = AutomationDeploymentSpec.Step.analysis();
                    analysis.analysis.measurements = 5;
                    spec.strategy.canary.steps =
                        List.of(AutomationDeploymentSpec.Step.weight(50), analysis);
                    spec.analysis.interval = "6s";
                    var errorRate = new AutomationDeploymentSpec.Metric();
                    errorRate.name = "error-rate";
                    errorRate.builtin = "errorRate";
                    errorRate.threshold = 0.2;
                    errorRate.minSamples = 20;
                    spec.analysis.metrics = List.of(errorRate);
                    spec.onRollback = new AutomationDeploymentSpec.OnRollback();
                    spec.onRollback.disableFlags = List.of("ff-portal-nuevo", "ff-portal-global");
                  }))
          .create();
      feed(namespace, "portal", 3_000);
      awaitPhase(namespace, "portal", "Healthy");

      var edited = Instant.now();
      edit(namespace, "portal", spec -> spec.processor.simulated.failureRate = 0.4);
      var degraded = awaitPhase(namespace, "portal", "Degraded");
      var status = degraded.getStatus();
      assertThat(status.stableRevision).isEqualTo(1);
      assertThat(status.canaryRevision).isNull();
      assertThat(status.abortedRevision).isEqualTo(2);
      assertThat(status.abortReason)
          .matches("error-rate of revision 2 was 0\\.[0-9]{3}, over its threshold 0\\.200\\.");
      // Revision 2 is not tried again without a person: Flux fails at once, Argo CD says why.
      assertThat(status.conditions)
          .filteredOn(c -> c.getType().equals("Stalled"))
          .singleElement()
          .satisfies(c -> assertThat(c.getReason()).isEqualTo("RolledBack"));
      assertThat(ArgoCdScripts.health(client, degraded))
          .satisfies(h -> assertThat(h.status()).isEqualTo("Degraded"))
          .satisfies(
              h ->
                  assertThat(h.message())
                      .startsWith(status.abortReason)
                      .contains("robusto.dev/action=retry"));
      assertThat(status.lastAnalysis.metrics.get(0).value)
          .as("the canary fails about 40 %% of its attempts; a few attempts make a rough sample")
          .isGreaterThan(0.2);
      assertThat(status.lastAnalysis.metrics)
          .anySatisfy(
              m -> {
                assertThat(m.name).isEqualTo("error-rate");
                assertThat(m.verdict).isEqualTo(AutomationDeploymentStatus.Verdict.BREACH);
                assertThat(m.threshold).isEqualTo(0.2);
              });
      assertThat(status.history)
          .extracting(r -> r.revision + " " + r.outcome)
          .containsExactly("1 Stable", "2 RolledBack");
      try {
        await("the rollback completes and the stable revision is checked")
            .atMost(Duration.ofSeconds(60))
            .untilAsserted(
                () -> {
                  var rollback = get(namespace, "portal").getStatus().rollbacks.get(0);
                  assertThat(rollback.from).isEqualTo(2);
                  assertThat(rollback.to).isEqualTo(1);
                  assertThat(rollback.completedAt).isNotNull();
                  assertThat(rollback.stableCheck)
                      .isEqualTo(AutomationDeploymentStatus.StableCheck.HEALTHY);
                  assertThat(rollback.stableCheckMessage)
                      .startsWith(
                          "Revision 1 passed every metric after the rollback: error-rate 0");
                });
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(e.getMessage() + "\n" + describe(namespace, "portal"), e);
      }
      await("the canary's Deployment goes")
          .atMost(Duration.ofSeconds(30))
          .until(() -> deployment(namespace, "portal-r2") == null);
      assertThat(deployment(namespace, "portal-r1").getSpec().getReplicas()).isEqualTo(2);
      // How fast is hack/bench/rollback's to measure; here: in order, after the edit.
      var rollback = get(namespace, "portal").getStatus().rollbacks.get(0);
      assertThat(Instant.parse(rollback.time)).isAfter(edited);
      assertThat(Instant.parse(rollback.completedAt))
          .isAfterOrEqualTo(Instant.parse(rollback.time));

      // A tenant's rollback turns a flag off for itself, unless the flag lets it speak for all.
      var reason = "Turned off by the rollback of AutomationDeployment " + namespace + "/portal:";
      await("the flags' statuses")
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                var own = client.resources(FeatureFlag.class).withName("ff-portal-nuevo").get();
                assertThat(own.getSpec().state).isEqualTo(FeatureFlagSpec.State.ENABLED);
                assertThat(own.getStatus().disabledTenants)
                    .containsOnlyKeys("flota-mala")
                    .hasValueSatisfying(
                        new org.assertj.core.api.Condition<>(
                            r -> r.startsWith(reason), "the rollback's reason"));
                var global = client.resources(FeatureFlag.class).withName("ff-portal-global").get();
                assertThat(global.getSpec().state).isEqualTo(FeatureFlagSpec.State.DISABLED);
                assertThat(global.getStatus().disabledReason).startsWith(reason);
              });
      // Events follow the status write they describe.
      await("the rollback's Events")
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(reasons(namespace, "portal"))
                      .contains(
                          "CanaryStarted",
                          "RolledBack",
                          "FlagDisabled",
                          "RollbackComplete",
                          "StableHealthy"));
      assertThat(auditRows("AutomationDeployment/" + namespace + "/portal"))
          .as("the rollback is in the audit log")
          .isPositive();
      assertThat(scrape())
          .as("robusto_rollbacks_total counts it")
          .containsPattern("robusto_rollbacks_total\\{trigger=\"metric\"} [1-9]");
      await("the canary's worker process stopped, the stable ones run")
          .atMost(Duration.ofSeconds(30))
          .until(() -> kubelet.running() == 2);
    }
  }

  @Test
  void aHealthyCanaryIsPromotedStepByStep() throws Exception {
    var namespace = readyTenant("flota-sana");
    try (var kubelet = new LocalNode(client, namespace, TestFleets.IMAGE, WorkerProcesses.LOGS)) {
      client
          .resource(
              fleet(
                  namespace,
                  "sano",
                  spec -> {
                    // Two passes at the last step, so it lasts at least an interval.
                    var last = AutomationDeploymentSpec.Step.analysis();
                    last.analysis.measurements = 2;
                    spec.strategy.canary.steps =
                        List.of(
                            AutomationDeploymentSpec.Step.weight(50),
                            AutomationDeploymentSpec.Step.analysis(),
                            AutomationDeploymentSpec.Step.weight(100),
                            last);
                  }))
          .create();
      feed(namespace, "sano", 3_000);
      var healthy = awaitPhase(namespace, "sano", "Healthy");
      assertThat(ArgoCdScripts.health(client, healthy))
          .isEqualTo(new ArgoCdScripts.Health("Healthy", healthy.getStatus().message));
      assertThat(ArgoCdScripts.fleetActions(client, healthy))
          .containsOnly(
              Map.entry("promote", false), Map.entry("abort", false), Map.entry("retry", false));

      // Every status the operator writes, from a watch: a step that lasts less than a poll's
      // interval is still seen.
      var seen = Collections.synchronizedList(new ArrayList<String>());
      try (var watch =
          client
              .resources(AutomationDeployment.class)
              .inNamespace(namespace)
              .withName("sano")
              .watch(
                  new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, AutomationDeployment fleet) {
                      var s = fleet.getStatus();
                      if (s == null) {
                        return;
                      }
                      var view =
                          s.canaryRevision == null
                              ? "stable " + s.stableRevision
                              : "step " + s.currentStepIndex + " weight " + s.canaryWeight;
                      synchronized (seen) {
                        if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(view)) {
                          seen.add(view);
                        }
                      }
                    }

                    @Override
                    public void onClose(WatcherException cause) {}
                  })) {
        edit(namespace, "sano", spec -> spec.processor.simulated.meanLatency = "40ms");
        explained(
            namespace,
            "sano",
            () -> "steps seen: " + seen,
            () ->
                await("promoted")
                    .atMost(Duration.ofSeconds(90))
                    .until(
                        () -> {
                          var s = get(namespace, "sano").getStatus();
                          return Integer.valueOf(2).equals(s.stableRevision)
                              && s.phase == AutomationDeploymentStatus.Phase.HEALTHY
                              && seen.contains("stable 2");
                        }));
      }
      assertThat(seen)
          .as("every step in order, then revision 2 stable")
          .containsSubsequence("step 1 weight 50", "step 3 weight 100", "stable 2");
      var status = get(namespace, "sano").getStatus();
      assertThat(status.history)
          .extracting(r -> r.revision + " " + r.outcome)
          .containsExactly("1 Superseded", "2 Promoted");
      assertThat(status.rollbacks).isEmpty();
      await("the old revision's Deployment goes")
          .atMost(Duration.ofSeconds(30))
          .until(() -> deployment(namespace, "sano-r1") == null);
      assertThat(reasons(namespace, "sano")).contains("CanaryStarted", "Promoted");
      assertThat(reasons(namespace, "sano"))
          .as("a rollout alone is no drift")
          .doesNotContain("DriftRepaired");

      // A hand edit of what the fleet sets is put back.
      client
          .apps()
          .deployments()
          .inNamespace(namespace)
          .withName("sano-r2")
          .edit(
              d -> {
                d.getSpec().getTemplate().getSpec().getContainers().get(0).setImage("otro:2");
                return d;
              });
      await("the fleet's image is back")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                assertThat(
                        deployment(namespace, "sano-r2")
                            .getSpec()
                            .getTemplate()
                            .getSpec()
                            .getContainers()
                            .get(0)
                            .getImage())
                    .isEqualTo(TestFleets.IMAGE);
                assertThat(reasons(namespace, "sano")).contains("DriftRepaired");
              });

      // The worker's pods are probed on its health port.
      var worker = deployment(namespace, "sano-r2").getSpec().getTemplate().getSpec();
      assertThat(worker.getContainers().get(0).getReadinessProbe().getHttpGet().getPath())
          .isEqualTo("/ready");
      assertThat(worker.getContainers().get(0).getLivenessProbe().getHttpGet().getPath())
          .isEqualTo("/live");

      // A Deployment as an operator version without probes made it (no template hash) is given
      // this version's template, and said so: it is no hand edit.
      var driftRepairs = count(reasons(namespace, "sano"), "DriftRepaired");
      client
          .apps()
          .deployments()
          .inNamespace(namespace)
          .withName("sano-r2")
          .patch(
              PatchContext.of(PatchType.JSON),
              """
              [{"op": "remove", "path": "/metadata/annotations/robusto.dev~1worker-template-hash"},
               {"op": "remove", "path": "/spec/template/spec/containers/0/livenessProbe"},
               {"op": "remove", "path": "/spec/template/spec/containers/0/readinessProbe"}]
              """);
      await("the new template is rolled out")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                var container =
                    deployment(namespace, "sano-r2")
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0);
                assertThat(container.getReadinessProbe()).isNotNull();
                assertThat(container.getLivenessProbe()).isNotNull();
                assertThat(reasons(namespace, "sano")).contains("WorkerTemplateUpdated");
              });
      assertThat(count(reasons(namespace, "sano"), "DriftRepaired"))
          .as("an upgrade's new template is not reported as a hand edit")
          .isEqualTo(driftRepairs);
    }
  }

  private static long count(List<String> reasons, String reason) {
    return reasons.stream().filter(reason::equals).count();
  }

  @Test
  void noDataPausesAndAPersonsAbortRetryPromoteAndRollbackActAtOnce() throws Exception {
    var namespace = readyTenant("flota-quieta");
    try (var kubelet = new LocalNode(client, namespace, TestFleets.IMAGE, WorkerProcesses.LOGS)) {
      client.resource(fleet(namespace, "quieto", spec -> {})).create();
      awaitPhase(namespace, "quieto", "Healthy");
      edit(namespace, "quieto", spec -> spec.processor.simulated.meanLatency = "30ms");

      // No batch feeds this fleet: no attempts, no verdict. It waits; it does not roll back.
      await("paused for data")
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                var s = get(namespace, "quieto").getStatus();
                assertThat(s.phase).isEqualTo(AutomationDeploymentStatus.Phase.PAUSED);
                assertThat(s.canaryRevision).isEqualTo(2);
                assertThat(s.message)
                    .startsWith(
                        "Waiting for data before going on. error-rate: 0 attempts of revision 2");
              });
      await("no data is no breach: no rollback")
          .during(Duration.ofSeconds(5))
          .atMost(Duration.ofSeconds(7))
          .until(() -> get(namespace, "quieto").getStatus().rollbacks.isEmpty());
      var paused = get(namespace, "quieto");
      assertThat(ArgoCdScripts.health(client, paused))
          .satisfies(h -> assertThat(h.status()).isEqualTo("Suspended"))
          .satisfies(h -> assertThat(h.message()).startsWith("Waiting for data before going on."));
      assertThat(ArgoCdScripts.fleetActions(client, paused))
          .containsOnly(
              Map.entry("promote", true), Map.entry("abort", true), Map.entry("retry", false));

      // Abort, retry and promote as Argo CD's actions send them (the scripts in argocd-cm).
      ArgoCdScripts.runFleetAction(client, paused, "abort");
      var aborted = awaitPhase(namespace, "quieto", "Degraded");
      assertThat(ArgoCdScripts.fleetActions(client, aborted))
          .containsOnly(
              Map.entry("promote", false), Map.entry("abort", false), Map.entry("retry", true));
      assertThat(aborted.getStatus().abortReason).isEqualTo("Aborted by request at step 2.");
      assertThat(aborted.getStatus().lastAction).startsWith("abort at ");
      await("the action is removed once its outcome is written")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(get(namespace, "quieto").getMetadata().getAnnotations())
                      .doesNotContainKey(AutomationDeployment.ACTION_ANNOTATION));

      ArgoCdScripts.runFleetAction(client, aborted, "retry");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> get(namespace, "quieto").getStatus().canaryRevision != null);

      ArgoCdScripts.runFleetAction(client, get(namespace, "quieto"), "promote");
      await("promoted at once, skipping analysis")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                var s = get(namespace, "quieto").getStatus();
                assertThat(s.stableRevision).isEqualTo(2);
                assertThat(s.phase).isEqualTo(AutomationDeploymentStatus.Phase.HEALTHY);
              });

      act(namespace, "quieto", "rollback:1");
      var rolledBack = awaitPhase(namespace, "quieto", "Degraded");
      assertThat(rolledBack.getStatus().stableRevision).isEqualTo(1);
      assertThat(rolledBack.getStatus().abortReason)
          .isEqualTo(
              "Rolled back to revision 1 by request. Revision 2 (the spec) waits until"
                  + " spec.template or processor changes, or robusto.dev/action=retry.");
      await("revision 1 runs every replica again")
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                var d = deployment(namespace, "quieto-r1");
                return d != null
                    && d.getStatus() != null
                    && Integer.valueOf(2).equals(d.getStatus().getReadyReplicas());
              });

      act(namespace, "quieto", "rollback:7");
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(get(namespace, "quieto").getStatus().lastAction)
                      .startsWith("rollback:7 at ")
                      .endsWith(": refused: no revision 7 is kept (kept: [1, 2])."));
    }
  }

  /**
   * A person's action is removed only once its outcome is in the status: while the API server
   * refuses the fleet's status writes (an admission policy stands in for the failure), the
   * annotation stays; once they are allowed, the action is carried out and then removed.
   */
  @Test
  void anActionIsKeptUntilItsOutcomeIsWrittenInTheStatus() throws Exception {
    var namespace = readyTenant("flota-terca");
    try (var kubelet = new LocalNode(client, namespace, TestFleets.IMAGE, WorkerProcesses.LOGS)) {
      client.resource(fleet(namespace, "terco", spec -> {})).create();
      awaitPhase(namespace, "terco", "Healthy");
      var policy =
          client.resource(
              """
              apiVersion: admissionregistration.k8s.io/v1
              kind: ValidatingAdmissionPolicy
              metadata: {name: refuse-terco-status}
              spec:
                failurePolicy: Fail
                matchConstraints:
                  resourceRules:
                  - apiGroups: [robusto.dev]
                    apiVersions: ["*"]
                    operations: [UPDATE]
                    resources: [automationdeployments/status]
                validations:
                - expression: "object.metadata.name != 'terco'"
                  message: status writes of terco refused by the test
              """);
      var binding =
          client.resource(
              """
              apiVersion: admissionregistration.k8s.io/v1
              kind: ValidatingAdmissionPolicyBinding
              metadata: {name: refuse-terco-status}
              spec:
                policyName: refuse-terco-status
                validationActions: [Deny]
              """);
      policy.create();
      binding.create();
      try {
        await("the policy refuses the fleet's status writes")
            .atMost(Duration.ofSeconds(30))
            .until(() -> statusWriteRefused(namespace, "terco"));
        act(namespace, "terco", "promote");
        await("the action stays while its outcome cannot be written")
            .during(Duration.ofSeconds(6))
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> {
                  var f = get(namespace, "terco");
                  return "promote"
                          .equals(
                              f.getMetadata()
                                  .getAnnotations()
                                  .get(AutomationDeployment.ACTION_ANNOTATION))
                      && f.getStatus().lastAction == null;
                });
      } finally {
        binding.delete();
        policy.delete();
      }
      await("carried out, written, then removed")
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                var f = get(namespace, "terco");
                assertThat(f.getStatus().lastAction)
                    .startsWith("promote at ")
                    .endsWith(": revision 1 is already stable.");
                assertThat(f.getMetadata().getAnnotations())
                    .doesNotContainKey(AutomationDeployment.ACTION_ANNOTATION);
              });
    }
  }

  /** A dry-run status write by the test, refused by admission like the operator's. */
  private boolean statusWriteRefused(String namespace, String name) {
    var fleet = get(namespace, name);
    fleet.getStatus().message = "probe";
    try {
      client.resource(fleet).dryRun().updateStatus();
      return false;
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      return e.getMessage().contains("status writes of terco refused by the test");
    }
  }

  @Test
  void aPrometheusMetricOverItsThresholdRollsTheCanaryBack() throws Exception {
    var namespace = readyTenant("flota-prom");
    var prometheus = Prometheus.get();
    try (var kubelet = new LocalNode(client, namespace, TestFleets.IMAGE, WorkerProcesses.LOGS)) {
      client
          .resource(
              fleet(
                  namespace,
                  "medido",
                  spec -> {
                    var metric = new AutomationDeploymentSpec.Metric();
                    metric.name = "portal-errors";
                    metric.provider = "prometheus";
                    metric.query = "max(portal_canary_errors{revision=\"$revision\"})";
                    metric.threshold = 0.1;
                    spec.analysis.metrics = List.of(metric);
                  }))
          .create();
      awaitPhase(namespace, "medido", "Healthy");
      prometheus.set(
          "portal_canary_errors{namespace=\"%s\",revision=\"2\"}".formatted(namespace), 0.35);
      // Another tenant's series: the query is confined to the fleet's namespace and never sees
      // it (unconfined, max() would report 0.990).
      prometheus.set("portal_canary_errors{namespace=\"tenant-otro\",revision=\"2\"}", 0.99);
      edit(namespace, "medido", spec -> spec.processor.simulated.meanLatency = "30ms");
      var degraded = awaitPhase(namespace, "medido", "Degraded");
      assertThat(degraded.getStatus().abortReason)
          .isEqualTo("portal-errors of revision 2 was 0.350, over its threshold 0.100.");
    }
  }

  @Test
  void aDeploymentOfTheSameNameThatIsNotTheFleetsIsNeverTakenOver() throws Exception {
    var namespace = readyTenant("flota-ajena");
    var foreign =
        new DeploymentBuilder()
            .withNewMetadata()
            .withName("ajeno-r1")
            .withNamespace(namespace)
            .endMetadata()
            .withNewSpec()
            .withReplicas(0)
            .withNewSelector()
            .addToMatchLabels("app", "ajeno")
            .endSelector()
            .withNewTemplate()
            .withNewMetadata()
            .addToLabels("app", "ajeno")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("app")
            .withImage("someone-else:1")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    client.resource(foreign).create();
    client.resource(fleet(namespace, "ajeno", spec -> {})).create();
    await("the fleet says why it cannot run")
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(get(namespace, "ajeno").getStatus().conditions)
                    .anySatisfy(
                        c -> {
                          assertThat(c.getType()).isEqualTo("Ready");
                          assertThat(c.getReason()).isEqualTo("ReconcileError");
                          assertThat(c.getMessage())
                              .contains(
                                  "Deployment ajeno-r1 already exists and is not this fleet's:"
                                      + " rename or delete it");
                        }));
    assertThat(deployment(namespace, "ajeno-r1").getSpec().getTemplate().getSpec().getContainers())
        .singleElement()
        .satisfies(c -> assertThat(c.getImage()).isEqualTo("someone-else:1"));
  }

  // --- helpers

  /** An enterprise tenant with a daily quota the tests' ticket volumes cannot exhaust. */
  private String readyTenant(String name) {
    return TestTenants.ready(client, name, Tier.ENTERPRISE, new TenantLimits(20, 100_000, 600_000));
  }

  private static AutomationDeployment fleet(
      String namespace, String name, Consumer<AutomationDeploymentSpec> customize) {
    var fleet = TestFleets.fleet(namespace, name, 2, "50ms", "2s");
    customize.accept(fleet.getSpec());
    return fleet;
  }

  private void feed(String namespace, String fleet, int tickets) throws Exception {
    TestFleets.feed(client, namespace, fleet, tickets);
  }

  private void edit(String namespace, String name, Consumer<AutomationDeploymentSpec> change) {
    update(
        namespace,
        name,
        f -> {
          change.accept(f.getSpec());
          return f;
        });
  }

  /**
   * As a person runs kubectl annotate --overwrite ... robusto.dev/action=...: a merge patch, which
   * holds whether or not the operator removed the previous action meanwhile.
   */
  private void act(String namespace, String name, String action) {
    client
        .resources(AutomationDeployment.class)
        .inNamespace(namespace)
        .withName(name)
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            "{\"metadata\": {\"annotations\": {\"%s\": \"%s\"}}}"
                .formatted(AutomationDeployment.ACTION_ANNOTATION, action));
  }

  /** An edit, retried when the operator's status write got in first (409), as kubectl does. */
  private void update(
      String namespace, String name, java.util.function.UnaryOperator<AutomationDeployment> edit) {
    for (var attempt = 1; ; attempt++) {
      try {
        client
            .resources(AutomationDeployment.class)
            .inNamespace(namespace)
            .withName(name)
            .edit(edit);
        return;
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
  }

  private AutomationDeployment awaitPhase(String namespace, String name, String phase) {
    explained(
        namespace,
        name,
        () -> "",
        () ->
            await(name + " " + phase)
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(200))
                .until(
                    () -> {
                      var f = get(namespace, name);
                      return f.getStatus() != null
                          && phase.equals(String.valueOf(f.getStatus().phase));
                    }));
    return get(namespace, name);
  }

  private AutomationDeployment get(String namespace, String name) {
    return client.resources(AutomationDeployment.class).inNamespace(namespace).withName(name).get();
  }

  /** Runs an await; on a timeout, fails with the fleet's status, Deployments and pods. */
  private void explained(
      String namespace, String name, java.util.function.Supplier<String> also, Runnable await) {
    try {
      await.run();
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          e.getMessage() + "\n" + also.get() + "\n" + describe(namespace, name), e);
    }
  }

  /** The fleet's status, its Deployments and pods, for a failure message. */
  private String describe(String namespace, String name) {
    var text = new StringBuilder("status: " + statusJson(namespace, name));
    for (var d : client.apps().deployments().inNamespace(namespace).list().getItems()) {
      text.append("\ndeployment ")
          .append(d.getMetadata().getName())
          .append(" spec.replicas=")
          .append(d.getSpec().getReplicas())
          .append(" status=")
          .append(d.getStatus());
    }
    for (var p : client.pods().inNamespace(namespace).list().getItems()) {
      text.append("\npod ")
          .append(p.getMetadata().getName())
          .append(" ")
          .append(p.getStatus().getPhase())
          .append(" deleting=")
          .append(p.getMetadata().getDeletionTimestamp())
          .append(" conditions=")
          .append(p.getStatus().getConditions());
    }
    return text.toString();
  }

  private String statusJson(String namespace, String name) {
    try {
      return JSON.writeValueAsString(get(namespace, name).getStatus());
    } catch (Exception e) {
      return e.toString();
    }
  }

  private Deployment deployment(String namespace, String name) {
    return client.apps().deployments().inNamespace(namespace).withName(name).get();
  }

  private List<String> reasons(String namespace, String name) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> name.equals(e.getInvolvedObject().getName()))
        .map(e -> e.getReason())
        .toList();
  }

  private static FeatureFlag flag(String name) throws Exception {
    var flag = new FeatureFlag();
    flag.setMetadata(new ObjectMetaBuilder().withName(name).build());
    flag.setSpec(
        JSON.readValue(
            "{\"type\": \"boolean\", \"variants\": {\"on\": true, \"off\": false},"
                + " \"defaultVariant\": \"on\"}",
            FeatureFlagSpec.class));
    return flag;
  }

  private static int auditRows(String resource) throws Exception {
    try (var c =
            Postgres.get()
                .dataSource("robusto", Postgres.OPERATOR_ROLE, Postgres.OPERATOR_PASSWORD)
                .getConnection();
        var q =
            c.prepareStatement(
                "SELECT count(*) FROM audit_log WHERE resource = ? AND action = 'update'")) {
      q.setString(1, resource);
      try (var rs = q.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private String scrape() throws Exception {
    return HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(metrics.toURI()).build(), HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
