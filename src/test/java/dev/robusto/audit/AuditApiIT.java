package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestAuditKeys;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The operator's audit trail end to end: entries it appends, the anchor it copies into the cluster,
 * and verification over HTTP and from the command line, intact and tampered.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class AuditApiIT {

  @Inject AuditLog log;
  @Inject AuditAnchoring anchoring;
  @Inject io.fabric8.kubernetes.client.KubernetesClient operatorClient;

  @TestHTTPResource("/api/v1/audit/verify")
  String verifyUrl;

  @TestHTTPResource("/api/v1/audit/entries")
  String entriesUrl;

  @Test
  void theAnchorIsCopiedIntoTheClusterAndVerificationUsesIt() throws Exception {
    log.append(new AuditEntry("test", "create", "ConfigMap/x/y", "acme", null, "h1"));
    var anchor = anchoring.anchor().orElseThrow();

    var cluster = LocalCluster.get();
    var copied =
        cluster.kubectl(
            "get",
            "configmap",
            AuditAnchoring.CONFIG_MAP,
            "-n",
            LocalCluster.RELEASE_NAMESPACE,
            "-o",
            "jsonpath={.data.seq} {.data.hash}");
    assertThat(copied).isEqualTo(anchor.seq() + " " + anchor.hash());
    assertThat(cluster.kubectl("get", "events", "-n", LocalCluster.RELEASE_NAMESPACE))
        .contains("AuditAnchored");

    var response = get();
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body())
        .contains("\"intact\":true")
        .contains("\"anchorSeq\":" + anchor.seq())
        .contains("\"sealKeys\":[\"test-1\"]");
    assertThat(
            cli(
                Map.of(
                    "ROBUSTO_AUDIT_ANCHOR_SEQ",
                    Long.toString(anchor.seq()),
                    "ROBUSTO_AUDIT_ANCHOR_HASH",
                    anchor.hash(),
                    "ROBUSTO_AUDIT_SEAL_KEYS",
                    TestAuditKeys.SPEC)))
        .startsWith("0 audit chain intact")
        .contains("seals under test-1");
  }

  @Test
  void aTamperedRowIsReportedByTheApiAndTheCli() throws Exception {
    log.append(
        new AuditEntry("test", "update", "ResourceQuota/tenant-a/tenant-quota", "a", "h0", "h1"));
    var victim = lastSeq();
    var original = column(victim, "resource");
    set(victim, "resource", "ResourceQuota/tenant-a/forged");
    try {
      // A change that kept every hash: only a walk from the first row is sure to see it.
      var response = get(verifyUrl + "?full=true", auditor());
      assertThat(response.statusCode()).isEqualTo(409);
      assertThat(response.body())
          .contains("\"intact\":false")
          .contains("\"firstBrokenSeq\":" + victim)
          .contains("was altered");
      assertThat(cli(Map.of())).startsWith("1 audit chain BROKEN at row " + victim);
    } finally {
      set(victim, "resource", original);
    }
    assertThat(get().statusCode()).isEqualTo(200);
  }

  /**
   * Checkpoints stay as written: not the operator, not the checkpointer that wrote them, not even a
   * cluster admin may change or remove one while the chart's policy is bound, so a chain that
   * disagrees with one stays broken until an admin looks.
   */
  @Test
  void checkpointsStayAsWrittenAndAChainThatDisagreesWithOneIsBroken() throws Exception {
    // Two rows at least, so the made-up checkpoint below has a row of its own to disagree with.
    log.append(new AuditEntry("test", "update", "ConfigMap/x/checkpoint", "acme", "h0", "h1"));
    log.append(new AuditEntry("test", "update", "ConfigMap/x/checkpoint", "acme", "h1", "h2"));
    try (var checkpointerClient = AuditCheckpointerIT.checkpointerClient()) {
      var checkpointer =
          AuditCheckpointerIT.checkpointer(checkpointerClient, 1, java.time.Duration.ofHours(1));
      var checkpoint = checkpointer.round(java.time.Instant.now()).orElseThrow();
      checkpointsStayAsWritten(checkpoint, checkpointer, checkpointerClient);
    }
  }

  private void checkpointsStayAsWritten(
      AuditAnchor checkpoint,
      AuditCheckpointer checkpointer,
      io.fabric8.kubernetes.client.KubernetesClient checkpointerClient)
      throws Exception {
    var cluster = LocalCluster.get();
    var namespace = LocalCluster.RELEASE_NAMESPACE;
    var name = AuditCheckpoints.PREFIX + checkpoint.seq();
    assertThat(
            cluster.kubectl(
                "get",
                "configmap",
                name,
                "-n",
                namespace,
                "-o",
                "jsonpath={.immutable} {.data.seq} {.data.hash}"))
        .isEqualTo("true " + checkpoint.seq() + " " + checkpoint.hash());
    assertThat(checkpointer.round(java.time.Instant.now()))
        .as("no second one of the same row")
        .isEmpty();

    var asOperator =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            io.fabric8.kubernetes.client.KubernetesClientException.class,
            () -> operatorClient.configMaps().inNamespace(namespace).withName(name).delete());
    assertThat(asOperator.getCode()).isEqualTo(403);
    var asAdmin = cluster.kubectlResult("delete", "configmap", name, "-n", namespace);
    assertThat(asAdmin.exitCode()).isNotZero();
    assertThat(asAdmin.output())
        .contains("audit checkpoint " + name + " is kept as it was written")
        .contains("may not delete it");
    var unlabel =
        cluster.kubectlResult(
            "label", "configmap", name, "-n", namespace, AuditCheckpoints.LABEL + "-");
    assertThat(unlabel.exitCode()).isNotZero();
    assertThat(unlabel.output()).contains("may not update it");
    assertThat(get(verifyUrl + "?full=true", auditor()).statusCode()).isEqualTo(200);

    // One the chain disagrees with (made up by whoever holds the checkpointer's identity, which
    // may only add checkpoints): verification names its row.
    var madeUp = AuditCheckpoints.PREFIX + (checkpoint.seq() - 1);
    checkpointerClient
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName(madeUp)
                .withNamespace(namespace)
                .withLabels(Map.of(AuditCheckpoints.LABEL, "true"))
                .endMetadata()
                .withImmutable(true)
                .withData(
                    Map.of("seq", Long.toString(checkpoint.seq() - 1), "hash", "0".repeat(64)))
                .build())
        .create();
    try {
      var response = get(verifyUrl + "?full=true", auditor());
      assertThat(response.statusCode()).isEqualTo(409);
      assertThat(response.body())
          .contains("\"firstBrokenSeq\":" + (checkpoint.seq() - 1))
          .contains("differs from its checkpoint (ConfigMap " + madeUp);
    } finally {
      // What an admin does to prune: unbind the policy, delete, bind it again.
      var binding = LocalCluster.RELEASE + "-audit-checkpoints";
      cluster.kubectl("delete", "validatingadmissionpolicybinding", binding);
      org.awaitility.Awaitility.await("the policy unbound")
          .atMost(java.time.Duration.ofSeconds(20))
          .until(
              () ->
                  cluster.kubectlResult("delete", "configmap", madeUp, "-n", namespace).exitCode()
                      == 0);
      LocalCluster.checked(
          cluster.helm(
              "upgrade",
              LocalCluster.RELEASE,
              LocalCluster.projectDir().resolve("helm/robusto-operator").toString(),
              "-n",
              namespace,
              "--reuse-values"));
    }
    assertThat(get(verifyUrl + "?full=true", auditor()).statusCode()).isEqualTo(200);
  }

  @Test
  void anchoringRefusesToMoveOnWhenTheAnchoredRowWasRewritten() throws Exception {
    log.append(new AuditEntry("test", "update", "x", "a", "h1", "h2"));
    var anchored = anchoring.anchor().orElseThrow();
    // A later entry, appended before the rewrite so it links to the true hash.
    log.append(new AuditEntry("test", "update", "x", "a", "h2", "h3"));
    var original = column(anchored.seq(), "hash");
    // A rewrite recomputes hashes: the anchored row no longer carries the anchored hash.
    set(anchored.seq(), "hash", "0".repeat(64));
    try {
      assertThat(anchoring.anchor()).contains(anchored);
      assertThat(LocalCluster.get().kubectl("get", "events", "-n", LocalCluster.RELEASE_NAMESPACE))
          .contains("AuditChainTampered");
      assertThat(get().body())
          .contains("\"intact\":false")
          .contains("\"firstBrokenSeq\":" + anchored.seq());
    } finally {
      set(anchored.seq(), "hash", original);
    }
  }

  @Test
  void theAnchorMovesEveryNRowsWithoutWaitingForItsInterval() throws Exception {
    var rows =
        org.eclipse.microprofile.config.ConfigProvider.getConfig()
            .getValue("robusto.audit.anchor-rows", Long.class);
    var start = anchoring.anchor().orElseThrow();
    // Half way (the operator may append a few of its own meanwhile): not yet.
    for (var i = 0; i < rows / 2; i++) {
      log.append(new AuditEntry("test", "update", "ConfigMap/x/n", "acme", "h" + i, "h" + i));
    }
    assertThat(anchoring.anchorIfBehind()).isFalse();
    assertThat(anchoring.current()).contains(start);
    for (var i = rows / 2; i < rows; i++) {
      log.append(new AuditEntry("test", "update", "ConfigMap/x/n", "acme", "h" + i, "h" + i));
    }
    assertThat(anchoring.anchorIfBehind()).as("%d rows past the anchor", rows).isTrue();
    assertThat(anchoring.current().orElseThrow().seq())
        .isGreaterThanOrEqualTo(start.seq() + rows)
        .isLessThanOrEqualTo(lastSeq());
  }

  @Test
  void onlyAnAuditorMayAskAndAStrangerIsToldWhy() throws Exception {
    assertThat(get(verifyUrl, null).statusCode()).isEqualTo(401);
    assertThat(get(verifyUrl, "made-up").statusCode()).isEqualTo(401);
    var cluster = LocalCluster.get();
    cluster.kubectl("create", "serviceaccount", "curioso", "-n", LocalCluster.RELEASE_NAMESPACE);
    var stranger =
        cluster.kubectl("create", "token", "curioso", "-n", LocalCluster.RELEASE_NAMESPACE).strip();
    var refused = get(verifyUrl, stranger);
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(refused.body())
        .contains(
            "system:serviceaccount:"
                + LocalCluster.RELEASE_NAMESPACE
                + ":curioso may not get auditlogs");
    assertThat(get().statusCode()).as("the auditor").isEqualTo(200);
  }

  @Test
  void eachVerificationWalksOnlyWhatWasAppendedSinceTheLastOne() throws Exception {
    var full = json(get(verifyUrl + "?full=true", auditor()).body());
    assertThat(full.get("fromSeq").asLong()).isEqualTo(1);
    log.append(new AuditEntry("test", "create", "ConfigMap/x/z", "acme", null, "h9"));
    var next = json(get().body());
    assertThat(next.get("intact").asBoolean()).isTrue();
    assertThat(next.get("fromSeq").asLong())
        .as("it starts after the row the full walk ended on")
        .isEqualTo(full.get("rows").asLong() + 1);
    assertThat(next.get("rows").asLong()).isGreaterThanOrEqualTo(full.get("rows").asLong());
  }

  @Test
  void ownersReadTheirOwnTenantsEntriesPageByPageAndAuditorsReadEveryones() throws Exception {
    // An earlier tenant of the same name, erased: its entries are not the new one's to read.
    log.append(
        new AuditEntry(
            "api:antes", "update", "ConfigMap/tenant-bitacora/antes", "bitacora", "a", "b"));
    log.append(
        new AuditEntry(
            "robusto-operator/tenant", "erase", "tenant-rows/bitacora", "bitacora", "b", null));
    var client = LocalCluster.get().client();
    var namespace =
        dev.robusto.testing.TestTenants.ownedByCaja(
            client, "bitacora", dev.robusto.tenant.Tier.STARTUP);
    dev.robusto.testing.TestTenants.ownedByCaja(
        client, "bitacora-vecina", dev.robusto.tenant.Tier.STARTUP);
    var from = java.time.Instant.now().minusSeconds(1);
    for (var i = 0; i < 5; i++) {
      log.append(
          new AuditEntry(
              "api:caja",
              "update",
              "AutomationBatch/" + namespace + "/lote-" + i,
              "bitacora",
              "h" + i,
              "h" + (i + 1)));
    }
    log.append(
        new AuditEntry(
            "robusto-operator/tenant",
            "update",
            "ResourceQuota/tenant-bitacora-vecina/tenant-quota",
            "bitacora-vecina",
            "q1",
            "q2"));
    var owner = LocalCluster.get().kubectl("create", "token", "caja", "-n", namespace).strip();

    // Its own tenant's batches, newest first, two a page, each page after the last.
    var seen = new java.util.ArrayList<String>();
    String cursor = null;
    do {
      var page =
          json(
              get(
                      entriesUrl
                          + "?tenant=bitacora&resource=AutomationBatch/&limit=2"
                          + (cursor == null ? "" : "&cursor=" + cursor),
                      owner)
                  .body());
      page.get("entries").forEach(e -> seen.add(e.get("resource").asText()));
      assertThat(page.get("entries"))
          .allSatisfy(e -> assertThat(e.get("tenant").asText()).isEqualTo("bitacora"));
      cursor = page.has("nextCursor") ? page.get("nextCursor").asText() : null;
    } while (cursor != null && seen.size() < 10);
    assertThat(seen)
        .containsExactly(
            java.util.stream.IntStream.of(4, 3, 2, 1, 0)
                .mapToObj(i -> "AutomationBatch/" + namespace + "/lote-" + i)
                .toArray(String[]::new));
    var since =
        json(get(entriesUrl + "?tenant=bitacora&actor=api:caja&from=" + from, owner).body());
    assertThat(since.get("entries")).hasSize(5);
    assertThat(
            json(get(entriesUrl + "?tenant=bitacora&from=" + from + "&to=" + from, owner).body())
                .get("entries"))
        .as("an empty range")
        .isEmpty();

    assertThat(get(entriesUrl + "?tenant=bitacora&limit=500", owner).body())
        .doesNotContain("ConfigMap/tenant-bitacora/antes");
    assertThat(get(entriesUrl + "?tenant=bitacora&limit=500", auditor()).body())
        .contains("ConfigMap/tenant-bitacora/antes");

    // Another tenant's entries, or everyone's, are an auditor's to read.
    assertThat(get(entriesUrl + "?tenant=bitacora-vecina", owner).statusCode()).isEqualTo(403);
    assertThat(get(entriesUrl, owner).statusCode()).isEqualTo(403);
    assertThat(get(entriesUrl + "?tenant=no-such-tenant", owner).statusCode())
        .as("an unknown tenant is asked about cluster-wide")
        .isEqualTo(403);
    var neighbours = json(get(entriesUrl + "?tenant=bitacora-vecina", auditor()).body());
    assertThat(neighbours.get("entries"))
        .anySatisfy(
            e ->
                assertThat(e.get("resource").asText())
                    .isEqualTo("ResourceQuota/tenant-bitacora-vecina/tenant-quota"));
    var operator =
        json(get(entriesUrl + "?actor=robusto-operator/tenant&action=update", auditor()).body());
    assertThat(operator.get("entries"))
        .isNotEmpty()
        .allSatisfy(
            e -> {
              assertThat(e.get("actor").asText()).isEqualTo("robusto-operator/tenant");
              assertThat(e.get("hash").asText()).hasSize(64);
            });

    // Bad input says which parameter to fix.
    for (var bad :
        List.of(
            "limit=0", "limit=501", "cursor=abc", "from=yesterday", "actor=" + "x".repeat(513))) {
      var refused = get(entriesUrl + "?tenant=bitacora&" + bad, owner);
      assertThat(refused.statusCode()).as(bad).isEqualTo(400);
      assertThat(json(refused.body()).get("field").asText()).isEqualTo(bad.split("=")[0]);
    }
  }

  private static com.fasterxml.jackson.databind.JsonNode json(String body) throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
  }

  private static String auditorToken;

  /** A token of a ServiceAccount bound to the chart's audit-reader ClusterRole. */
  private static synchronized String auditor() {
    if (auditorToken == null) {
      var cluster = LocalCluster.get();
      var namespace = LocalCluster.RELEASE_NAMESPACE;
      cluster.kubectl("create", "serviceaccount", "auditor", "-n", namespace);
      cluster.kubectl(
          "create",
          "clusterrolebinding",
          "auditor-reads-audit",
          "--clusterrole",
          LocalCluster.RELEASE + "-audit-reader",
          "--serviceaccount",
          namespace + ":auditor");
      auditorToken = cluster.kubectl("create", "token", "auditor", "-n", namespace).strip();
    }
    return auditorToken;
  }

  private java.net.http.HttpResponse<String> get() throws Exception {
    return get(verifyUrl, auditor());
  }

  private static java.net.http.HttpResponse<String> get(String url, String token) throws Exception {
    var request = HttpRequest.newBuilder(URI.create(url));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HttpClient.newHttpClient().send(request.build(), BodyHandlers.ofString());
  }

  private static String cli(Map<String, String> extra) {
    var env = new HashMap<String, String>(extra);
    env.put("QUARKUS_DATASOURCE_JDBC_URL", Postgres.get().jdbcUrl("robusto"));
    env.put("QUARKUS_DATASOURCE_USERNAME", Postgres.OPERATOR_ROLE);
    env.put("QUARKUS_DATASOURCE_PASSWORD", Postgres.OPERATOR_PASSWORD);
    var out = new ByteArrayOutputStream();
    var code =
        AuditCli.run(
            new String[] {"audit", "verify"},
            env,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            System.err);
    return code + " " + out.toString(StandardCharsets.UTF_8);
  }

  static long lastSeq() throws Exception {
    try (var c = Postgres.get().superuser("robusto");
        var rs = c.createStatement().executeQuery("SELECT max(seq) FROM audit_log")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static String column(long seq, String column) throws Exception {
    try (var c = Postgres.get().superuser("robusto");
        var rs =
            c.createStatement()
                .executeQuery("SELECT " + column + " FROM audit_log WHERE seq = " + seq)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** What a superuser can do: change a row with the append-only triggers switched off. */
  static void set(long seq, String column, String value) throws Exception {
    try (var c = Postgres.get().superuser("robusto")) {
      c.setAutoCommit(false);
      try (var s = c.createStatement();
          var update =
              c.prepareStatement("UPDATE audit_log SET " + column + " = ? WHERE seq = ?")) {
        s.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_refuse_change");
        update.setString(1, value);
        update.setLong(2, seq);
        update.executeUpdate();
        s.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_refuse_change");
      }
      c.commit();
    }
  }
}
