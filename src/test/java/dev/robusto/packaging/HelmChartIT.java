package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.Charts;
import dev.robusto.testing.LocalCluster;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Helm chart with the real helm and kubectl against the local control plane. */
@Tag("cluster")
class HelmChartIT {

  private static final String CHART = "helm/robusto-operator";
  private static LocalCluster cluster;

  @BeforeAll
  static void cluster() {
    cluster = LocalCluster.get();
  }

  @Test
  void lintPasses() {
    var lint =
        cluster.helm("lint", CHART, "--strict", "--set", "database.existingSecret=robusto-db");
    assertThat(lint.exitCode()).as(lint.output()).isZero();
    assertThat(lint.output()).contains("0 chart(s) failed");
  }

  @Test
  void renderedManifestsAreAcceptedByTheApiServer() {
    var unset = cluster.helm("template", "render-check", CHART);
    assertThat(unset.exitCode()).isNotZero();
    assertThat(unset.output()).contains("Set database.existingSecret");
    var noOwner =
        cluster.helm("template", "render-check", CHART, "--set", "database.password=s3cret");
    assertThat(noOwner.exitCode()).isNotZero();
    assertThat(noOwner.output()).contains("Set database.owner.password");
    var noCheckpointer =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "--set",
            "database.password=s3cret",
            "--set",
            "database.owner.password=s3cret-owner");
    assertThat(noCheckpointer.exitCode()).isNotZero();
    assertThat(noCheckpointer.output()).contains("Set audit.checkpointer.database.password");
    var rendered =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "-n",
            "render-check",
            "--set",
            "database.password=s3cret",
            "--set",
            "database.owner.password=s3cret-owner",
            "--set",
            "audit.checkpointer.database.password=s3cret-owner-checkpointer");
    assertThat(rendered.exitCode()).as(rendered.output()).isZero();
    assertThat(rendered.output())
        .contains("robusto.tenant.tiers.enterprise.max-concurrent-jobs=20")
        .contains("robusto.tenant.tiers.startup.max-daily-jobs=100")
        .contains("robusto.leader-election.enabled=true")
        .contains("replicas: 2")
        .contains("type: RollingUpdate")
        .contains("kind: PodDisruptionBudget")
        // The audit checkpointer: its own ServiceAccount, pods the operator's Service never
        // selects.
        .contains("serviceAccountName: render-check-robusto-operator-audit-checkpointer")
        .contains("app.kubernetes.io/name: robusto-audit-checkpointer")
        .contains("name: ROBUSTO_DATABASE_CHECKPOINTER_USERNAME");
    var single =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "--set",
            "database.password=s3cret",
            "--set",
            "database.owner.password=s3cret-owner",
            "--set",
            "audit.checkpointer.database.password=s3cret-owner-checkpointer",
            "--set",
            "replicaCount=1",
            "--set",
            "leaderElection.enabled=false");
    assertThat(single.output())
        .as("without an election, an upgrade never runs two operators")
        .contains("robusto.leader-election.enabled=false")
        .contains("type: Recreate")
        .doesNotContain("kind: PodDisruptionBudget");
    var values =
        cluster.helm(
            "template",
            "render-check",
            CHART,
            "--set",
            "database.existingSecret=robusto-db",
            "--set",
            "tiers.startup.maxDailyJobs=250",
            "--set",
            "watchNamespaces={tenant-a,tenant-b}");
    assertThat(values.output())
        .contains("robusto.tenant.tiers.startup.max-daily-jobs=250")
        .contains("quarkus.operator-sdk.namespaces=tenant-a,tenant-b");
  }

  @Test
  void installRunsTheOperatorPodAndUninstallRemovesIt() {
    var install =
        cluster.helm(
            "install",
            "demo",
            CHART,
            "--set",
            "database.password=demo-only",
            "--set",
            "database.owner.password=demo-only-owner",
            "--set",
            "audit.checkpointer.database.password=demo-only-owner-checkpointer",
            "--set",
            "crds.install=false", // the cluster's CRDs are the test harness's
            "-n",
            "robusto-demo",
            "--create-namespace",
            "--wait",
            "--timeout",
            "120s");
    assertThat(install.exitCode())
        .as(
            () ->
                install.output()
                    + cluster.kubectlResult("get", "nodes,pods", "-A", "-o", "wide").output()
                    + cluster.kubectlResult("get", "events", "-n", "robusto-demo").output())
        .isZero();
    // KWOK's fake nodes run the pod, so the Deployment becomes available as on a real cluster.
    assertThat(
            cluster.kubectl(
                "get",
                "deployment",
                "demo-robusto-operator",
                "-n",
                "robusto-demo",
                "-o",
                "jsonpath={.status.availableReplicas}"))
        .isEqualTo("2");
    assertThat(
            cluster.kubectl(
                "get",
                "deployment",
                "demo-robusto-operator-audit-checkpointer",
                "-n",
                "robusto-demo",
                "-o",
                "jsonpath={.status.availableReplicas} {.spec.template.spec.serviceAccountName}"))
        .isEqualTo("1 demo-robusto-operator-audit-checkpointer");
    assertThat(cluster.kubectl("get", "crd", "tenants.robusto.dev", "-o", "name"))
        .contains("tenants.robusto.dev");

    var uninstall = cluster.helm("uninstall", "demo", "-n", "robusto-demo", "--wait");
    assertThat(uninstall.exitCode()).as(uninstall.output()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(
                        cluster
                            .kubectlResult("get", "clusterrole", "demo-robusto-operator")
                            .exitCode())
                    .isNotZero());
  }

  @Test
  void theOperatorsServiceAccountHasLeastPrivilege() {
    LocalCluster.checked(
        cluster.helm(
            "upgrade",
            "--install",
            "rbac-check",
            CHART,
            "--set",
            "database.password=unused",
            "--set",
            "database.owner.password=unused-owner",
            "--set",
            "audit.checkpointer.database.password=unused-owner-checkpointer",
            "--set",
            "crds.install=false",
            "-n",
            "rbac-check",
            "--create-namespace",
            "--set",
            "replicaCount=0",
            "--set",
            "admissionAudit.enabled=false")); // no webhook left behind for the tests after
    var sa = "system:serviceaccount:rbac-check:rbac-check-robusto-operator";
    assertThat(canI(sa, "create", "namespaces")).isTrue();
    assertThat(canI(sa, "patch", "tenants.robusto.dev", "--subresource=status")).isTrue();
    assertThat(canI(sa, "bind", "clusterroles/edit")).isTrue();
    // What it must not do: delete namespaces (GC does), touch CRDs, hand out admin, read secrets.
    assertThat(canI(sa, "delete", "namespaces")).isFalse();
    assertThat(canI(sa, "create", "customresourcedefinitions")).isFalse();
    assertThat(canI(sa, "bind", "clusterroles/admin")).isFalse();
    assertThat(canI(sa, "bind", "clusterroles/cluster-admin")).isFalse();
    assertThat(canI(sa, "get", "secrets")).isFalse();
    assertThat(canI(sa, "list", "secrets")).isFalse();
    assertThat(canI(sa, "get", "secrets/robusto-database")).isTrue();
    assertThat(canI(sa, "delete", "tenants.robusto.dev")).isFalse();
    // Merchants are read and their status written; their credentials' Secrets stay the tenant's.
    assertThat(canI(sa, "watch", "merchants.robusto.dev")).isTrue();
    assertThat(canI(sa, "patch", "merchants.robusto.dev", "--subresource=status")).isTrue();
    assertThat(canI(sa, "patch", "merchants.robusto.dev")).isFalse();
    assertThat(canI(sa, "get", "secrets/oxxo-portal", "-n", "rbac-check")).isFalse();
    // The leader election's Lease, in its own namespace only.
    assertThat(canI(sa, "update", "leases.coordination.k8s.io", "-n", "rbac-check")).isTrue();
    assertThat(canI(sa, "patch", "leases.coordination.k8s.io", "-n", "rbac-check")).isTrue();
    assertThat(canI(sa, "update", "leases.coordination.k8s.io", "-n", "kube-system")).isFalse();
  }

  @Test
  void badValuesAreRefusedWithTheirPath() {
    for (var bad :
        List.of(
            List.of("tiers.gold.maxDailyJobs=5", "gold"),
            List.of("replicaCount=two", "replicaCount"),
            List.of("tiers.startup.pricePerTicketMxn=1.23456", "pricePerTicketMxn"),
            List.of("retention.finishedAfter=30d", "finishedAfter"),
            List.of("image.pullPolicy=Sometimes", "pullPolicy"),
            List.of("monitoring.prometheusRule.thresholds.ticketErrorRatio=20", "ticketErrorRatio"),
            List.of("api.v1.sunset=30/06/2027", "sunset"),
            List.of("replicas=3", "replicas"))) {
      var result =
          cluster.helm(
              "template",
              "bad-values",
              CHART,
              "--set",
              "database.password=x",
              "--set",
              "database.owner.password=x-owner",
              "--set",
              "audit.checkpointer.database.password=x-owner-checkpointer",
              "--set",
              bad.get(0));
      assertThat(result.exitCode()).as(bad.get(0)).isNotZero();
      assertThat(result.output())
          .as(bad.get(0))
          .contains("values don't meet the specifications of the schema")
          .contains(bad.get(1));
    }
  }

  /**
   * The operator's login owns nothing; the schema owner's password reaches only the init container
   * that migrates, from the database Secret's owner-password key unless another Secret is named.
   */
  @Test
  @SuppressWarnings("unchecked")
  void onlyTheMigrationStepHoldsTheSchemaOwnersPassword() {
    var pod = Charts.operatorPod();
    var migrate = ((List<Map<String, Object>>) pod.get("initContainers")).get(0);
    assertThat(Charts.migrationCommand())
        .last()
        .isEqualTo("dev.robusto.operator.DatabaseMigration");
    assertThat(migrate.get("env").toString())
        .contains("name=ROBUSTO_DATABASE_OWNER_USERNAME, value=robusto_owner")
        .contains(
            "name=ROBUSTO_DATABASE_OWNER_PASSWORD, valueFrom={secretKeyRef={name=robusto-db, key=owner-password}}")
        .contains("name=QUARKUS_DATASOURCE_USERNAME, value=robusto");
    for (var container : (List<Map<String, Object>>) pod.get("containers")) {
      assertThat(container.get("env").toString())
          .doesNotContain("OWNER")
          .doesNotContain("owner-password");
    }
    assertThat(
            Charts.operatorPod("--set", "database.owner.existingSecret=robusto-owner").toString())
        .contains("secretKeyRef={name=robusto-owner, key=owner-password}");
  }

  /**
   * The audit chain's seal key: made once with 32 random bytes, kept by an upgrade (a new key would
   * leave every sealed row unverifiable), given to the operator's container only, and not readable
   * through the API by the operator's ServiceAccount.
   */
  @Test
  @SuppressWarnings("unchecked")
  void theAuditSealKeyIsMadeOnceKeptAcrossUpgradesAndGivenOnlyToTheOperator() {
    var install =
        List.of(
            "upgrade",
            "--install",
            "seal",
            CHART,
            "-n",
            "seal-keys",
            "--create-namespace",
            "--set",
            "database.password=x",
            "--set",
            "database.owner.password=x-owner",
            "--set",
            "audit.checkpointer.database.password=x-owner-checkpointer",
            "--set",
            "crds.install=false",
            "--set",
            "replicaCount=0",
            "--set",
            "admissionAudit.enabled=false"); // no webhook left behind for the tests after
    LocalCluster.checked(cluster.helm(install.toArray(String[]::new)));
    var read =
        List.of(
            "get",
            "secret",
            "seal-robusto-operator-audit-seal-keys",
            "-n",
            "seal-keys",
            "-o",
            "jsonpath={.data.seal-keys}");
    var first = cluster.kubectl(read.toArray(String[]::new));
    var keys =
        new String(
            java.util.Base64.getDecoder().decode(first), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(dev.robusto.audit.AuditKeys.parse(keys).ids())
        .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .as("an id of its own: k and the time it was made")
        .matches("k[0-9]{10}");
    var readPayloadKeys =
        List.of(
            "get",
            "secret",
            "seal-robusto-operator-payload-keys",
            "-n",
            "seal-keys",
            "-o",
            "jsonpath={.data.payload-keys}");
    var payloadKeys = cluster.kubectl(readPayloadKeys.toArray(String[]::new));
    assertThat(
            dev.robusto.operator.NamedKeys.parse(
                "payload-keys",
                new String(
                    java.util.Base64.getDecoder().decode(payloadKeys),
                    java.nio.charset.StandardCharsets.UTF_8)))
        .singleElement()
        .satisfies(k -> assertThat(k.id()).matches("p[0-9]{10}"));
    LocalCluster.checked(cluster.helm(install.toArray(String[]::new)));
    assertThat(cluster.kubectl(read.toArray(String[]::new)))
        .as("the key after an upgrade")
        .isEqualTo(first);
    assertThat(cluster.kubectl(readPayloadKeys.toArray(String[]::new)))
        .as("the payload key after an upgrade")
        .isEqualTo(payloadKeys);
    // An upgrade rendered without the cluster would make a new payload key: refused.
    var blind =
        cluster.helm(
            "template",
            "seal",
            CHART,
            "-n",
            "seal-keys",
            "--is-upgrade",
            "--set",
            "database.password=x",
            "--set",
            "database.owner.password=x-owner",
            "--set",
            "audit.checkpointer.database.password=x-owner-checkpointer");
    assertThat(blind.exitCode()).isNotZero();
    assertThat(blind.output())
        .contains("cannot read the Secret seal-robusto-operator-payload-keys")
        .contains("payloadEncryption.existingSecret");
    assertThat(
            canI(
                "system:serviceaccount:seal-keys:seal-robusto-operator",
                "get",
                "secrets/seal-robusto-operator-audit-seal-keys",
                "-n",
                "seal-keys"))
        .isFalse();

    var pod = Charts.operatorPod();
    var operator = ((List<Map<String, Object>>) pod.get("containers")).get(0).get("env").toString();
    assertThat(operator)
        .contains(
            "name=ROBUSTO_AUDIT_SEAL_KEYS, valueFrom={secretKeyRef={name=robusto-robusto-operator-audit-seal-keys, key=seal-keys}}");
    var migrate =
        ((List<Map<String, Object>>) pod.get("initContainers")).get(0).get("env").toString();
    assertThat(migrate).doesNotContain("SEAL");
    var own = Charts.template("--set", "audit.sealKeys.existingSecret=my-keys");
    assertThat(own).doesNotContain("audit-seal-keys").contains("name: my-keys");
  }

  /**
   * The operator's HTTPS certificate: made once for its Service's names (and any more the values
   * ask for), kept across upgrades until those names change, and trusted by the audit webhook,
   * which fails open and has no side effects on a dry run.
   */
  @Test
  void theOperatorsCertificateCoversItsServiceIsKeptAndTheAuditWebhookTrustsIt() throws Exception {
    var install =
        new ArrayList<>(
            List.of(
                "upgrade",
                "--install",
                "cert",
                CHART,
                "-n",
                "tls-cert",
                "--create-namespace",
                "--set",
                "database.password=x",
                "--set",
                "database.owner.password=x-owner",
                "--set",
                "audit.checkpointer.database.password=x-owner-checkpointer",
                "--set",
                "crds.install=false",
                "--set",
                "replicaCount=0"));
    try {
      LocalCluster.checked(cluster.helm(install.toArray(String[]::new)));
      var first = certificate("tls.crt");
      var ca = certificate("ca.crt");
      first.verify(ca.getPublicKey());
      assertThat(names(first))
          .contains(
              "cert-robusto-operator",
              "cert-robusto-operator.tls-cert.svc",
              "cert-robusto-operator.tls-cert.svc.cluster.local");

      var webhook =
          cluster.kubectl(
              "get",
              "validatingwebhookconfiguration",
              "tls-cert-cert-robusto-operator-audit",
              "-o",
              "jsonpath={.webhooks[0].failurePolicy} {.webhooks[0].sideEffects}"
                  + " {.webhooks[0].clientConfig.service.port} {.webhooks[0].clientConfig.caBundle}");
      assertThat(webhook)
          .isEqualTo("Ignore NoneOnDryRun 9443 " + secretData("ca.crt"))
          .as("fails open, and trusts the chart's CA");

      LocalCluster.checked(cluster.helm(install.toArray(String[]::new)));
      assertThat(certificate("tls.crt")).as("after an upgrade").isEqualTo(first);

      install.addAll(List.of("--set", "tls.extraDnsNames={robusto.example.com}"));
      LocalCluster.checked(cluster.helm(install.toArray(String[]::new)));
      assertThat(names(certificate("tls.crt"))).as("a name added").contains("robusto.example.com");
    } finally {
      cluster.helm("uninstall", "cert", "-n", "tls-cert");
    }

    // Tenants' pods use the APIs, but never reach the webhook's port.
    var policy =
        new org.yaml.snakeyaml.Yaml()
            .<Map<String, Object>>load(
                Charts.template("--show-only", "templates/networkpolicy.yaml"))
            .get("spec")
            .toString();
    assertThat(policy)
        .contains(
            "{ports=[{port=webhook, protocol=TCP}], from=[{namespaceSelector={matchExpressions="
                + "[{key=robusto.dev/tenant, operator=DoesNotExist}]}}]}");
    // A certificate of one's own must come with its CA, or the webhook could trust nothing.
    var noCa =
        cluster.helm(
            "template",
            "r",
            CHART,
            "--set",
            "database.password=x",
            "--set",
            "database.owner.password=y",
            "--set",
            "audit.checkpointer.database.password=y-checkpointer",
            "--set",
            "tls.existingSecret=mine");
    assertThat(noCa.exitCode()).isNotZero();
    assertThat(noCa.output())
        .contains("Secret mine has no ca.crt (or does not exist yet); set admissionAudit.caBundle");
    assertThat(
            Charts.template(
                "--set", "tls.existingSecret=mine", "--set", "admissionAudit.caInjectFrom=ns/cert"))
        .contains("cert-manager.io/inject-ca-from: \"ns/cert\"")
        .doesNotContain("caBundle");
  }

  private static String secretData(String key) {
    return cluster
        .kubectl(
            "get",
            "secret",
            "cert-robusto-operator-tls",
            "-n",
            "tls-cert",
            "-o",
            "jsonpath={.data." + key.replace(".", "\\.") + "}")
        .strip();
  }

  private static java.security.cert.X509Certificate certificate(String key) throws Exception {
    return (java.security.cert.X509Certificate)
        java.security.cert.CertificateFactory.getInstance("X.509")
            .generateCertificate(
                new java.io.ByteArrayInputStream(
                    java.util.Base64.getDecoder().decode(secretData(key))));
  }

  private static List<String> names(java.security.cert.X509Certificate certificate)
      throws Exception {
    return certificate.getSubjectAlternativeNames().stream()
        .map(name -> name.get(1).toString())
        .toList();
  }

  /**
   * With database.tls, every connection verifies PostgreSQL's certificate and name: the migration
   * step's and the operator's URL say so and both get the CA (workers get it in their tenant's
   * Secret; DatabaseTlsIT connects that way).
   */
  @Test
  @SuppressWarnings("unchecked")
  void databaseTlsVerifiesTheServerInEveryContainer() {
    var pod =
        Charts.operatorPod(
            "--set",
            "database.url=jdbc:postgresql://pg.example:5432/robusto?ApplicationName=robusto",
            "--set",
            "database.tls.caSecret=pg-ca");
    var containers = new ArrayList<Map<String, Object>>();
    containers.addAll((List<Map<String, Object>>) pod.get("initContainers"));
    containers.addAll((List<Map<String, Object>>) pod.get("containers"));
    for (var container : containers) {
      var env = container.get("env").toString();
      assertThat(env)
          .as((String) container.get("name"))
          .contains(
              "value=jdbc:postgresql://pg.example:5432/robusto?ApplicationName=robusto&sslmode=verify-full"
                  + "&sslfactory=org.postgresql.ssl.SingleCertValidatingFactory"
                  + "&sslfactoryarg=env:ROBUSTO_DATABASE_CA}")
          .contains("name=ROBUSTO_DATABASE_CA, valueFrom={secretKeyRef={name=pg-ca, key=ca.crt}}");
    }
    assertThat(Charts.operatorPod().toString()).doesNotContain("sslmode", "ROBUSTO_DATABASE_CA");
  }

  @Test
  void crdsImageDigestAndTheTestPodRenderAsValuesSay() {
    var defaults =
        cluster.helm(
            "template",
            "r",
            CHART,
            "--set",
            "database.password=x",
            "--set",
            "database.owner.password=x-owner",
            "--set",
            "audit.checkpointer.database.password=x-owner-checkpointer");
    assertThat(defaults.exitCode()).as(defaults.output()).isZero();
    assertThat(defaults.output().split("kind: \"?CustomResourceDefinition\"?", -1))
        .as("five CRDs")
        .hasSize(6);
    assertThat(defaults.output())
        .contains("helm.sh/resource-policy: keep")
        .contains("helm.sh/hook: test")
        .contains("dev.robusto.operator.InstallCheck")
        .contains("image: \"robusto-operator:0.1.0\"");
    var options =
        cluster.helm(
            "template",
            "r",
            CHART,
            "--set",
            "database.password=x",
            "--set",
            "database.owner.password=x-owner",
            "--set",
            "audit.checkpointer.database.password=x-owner-checkpointer",
            "--set",
            "crds.keep=false",
            "--set",
            "tests.enabled=false",
            "--set",
            "image.digest=sha256:" + "a".repeat(64));
    // Kept whatever crds.keep says: the audit seal key, without which sealed rows cannot be
    // verified, and the payload key, without which sealed payloads cannot be read.
    assertThat(options.output().split("helm.sh/resource-policy", -1))
        .as("only the audit seal key and payload key Secrets are kept")
        .hasSize(3);
    assertThat(options.output())
        .contains("name: r-robusto-operator-audit-seal-keys")
        .contains("name: r-robusto-operator-payload-keys")
        .doesNotContain("helm.sh/hook")
        .contains("image: \"robusto-operator@sha256:" + "a".repeat(64) + "\"")
        .contains("robusto.batch.worker-image=robusto-operator@sha256:" + "a".repeat(64));
    var none =
        cluster.helm(
            "template",
            "r",
            CHART,
            "--set",
            "database.password=x",
            "--set",
            "database.owner.password=x-owner",
            "--set",
            "audit.checkpointer.database.password=x-owner-checkpointer",
            "--set",
            "crds.install=false");
    assertThat(none.output()).doesNotContain("CustomResourceDefinition");
  }

  /** v1's Deprecation and Sunset dates reach the operator's configuration as the values say. */
  @Test
  void theV1DeprecationDatesRenderAsValuesSay() {
    assertThat(Charts.template("--show-only", "templates/configmap.yaml"))
        .contains("robusto.api.v1.deprecation=2026-12-01")
        .contains("robusto.api.v1.sunset=2027-06-30");
    assertThat(
            Charts.template(
                "--show-only",
                "templates/configmap.yaml",
                "--set",
                "api.v1.sunset=off",
                "--set",
                "api.v1.deprecation=2027-01-15"))
        .contains("robusto.api.v1.deprecation=2027-01-15")
        .contains("robusto.api.v1.sunset=off");
  }

  /**
   * An upgrade from the previous chart version (0.1.0, which shipped the CRDs in crds/, installed
   * once and never upgraded) delivers this version's CRD schema, once the CRDs are adopted by the
   * release as the README says; uninstalling leaves them (crds.keep).
   */
  @Test
  void anUpgradeFromThePreviousChartChangesTheCrdSchemaAndUninstallKeepsThem() throws Exception {
    var previous =
        LocalCluster.projectDir().resolve("src/test/resources/charts/robusto-operator-0.1.0.tgz");
    var crdsBefore = Files.createTempDirectory("robusto-crds-0.1.0");
    LocalCluster.checked(
        LocalCluster.exec(
            crdsBefore,
            List.of("tar", "-xzf", previous.toString(), "robusto-operator/crds"),
            60,
            null));
    // The cluster as 0.1.0 left it: its CRDs, without the descriptions this version adds.
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        crdsBefore.resolve("robusto-operator/crds").toString());
    var statusDescription =
        "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.status.description}";
    assertThat(cluster.kubectl("get", "crd", "tenants.robusto.dev", "-o", statusDescription))
        .isEmpty();
    LocalCluster.checked(
        cluster.helm(
            "install",
            "crd-upgrade",
            previous.toString(),
            "-n",
            "crd-upgrade",
            "--create-namespace",
            "--set",
            "database.password=unused",
            "--set",
            "replicaCount=0"));

    var refused = upgrade();
    assertThat(refused.exitCode()).isNotZero();
    assertThat(refused.output()).contains("invalid ownership metadata");
    LocalCluster.checked(
        LocalCluster.exec(
            LocalCluster.projectDir(),
            List.of(
                "bash",
                "-c",
                "eval \"$(hack/local-cluster env)\" && hack/adopt-crds crd-upgrade crd-upgrade"),
            60,
            cluster.stateDir()));
    LocalCluster.checked(upgrade());
    assertThat(cluster.kubectl("get", "crd", "tenants.robusto.dev", "-o", statusDescription))
        .startsWith("What the operator made of it");
    assertThat(
            cluster.kubectl(
                "get",
                "crd",
                "automationbatches.robusto.dev",
                "-o",
                "jsonpath={.metadata.annotations.helm\\.sh/resource-policy}"))
        .isEqualTo("keep");

    LocalCluster.checked(cluster.helm("uninstall", "crd-upgrade", "-n", "crd-upgrade", "--wait"));
    for (var crd : CRDS) {
      assertThat(cluster.kubectlResult("get", "crd", crd).exitCode())
          .as("%s kept after uninstall", crd)
          .isZero();
    }
  }

  private static final List<String> CRDS =
      List.of(
          "tenants.robusto.dev",
          "featureflags.robusto.dev",
          "automationbatches.robusto.dev",
          "automationdeployments.robusto.dev",
          "merchants.robusto.dev");

  private static LocalCluster.Result upgrade() {
    return cluster.helm(
        "upgrade",
        "crd-upgrade",
        CHART,
        "-n",
        "crd-upgrade",
        "--set",
        "database.password=unused",
        "--set",
        "database.owner.password=unused-owner",
        "--set",
        "audit.checkpointer.database.password=unused-owner-checkpointer",
        "--set",
        "replicaCount=0");
  }

  private static boolean canI(String user, String verb, String resource, String... flags) {
    var args = new ArrayList<>(List.of("auth", "can-i", verb, resource, "--as", user));
    args.addAll(List.of(flags));
    var result = cluster.kubectlResult(args.toArray(String[]::new));
    // kubectl may print a warning line too (e.g. "namespaces is not namespace scoped").
    return result.output().lines().anyMatch("yes"::equals);
  }
}
