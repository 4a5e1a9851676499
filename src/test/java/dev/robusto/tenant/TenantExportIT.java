package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.PostgresResource;
import dev.robusto.testing.TestTenants;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A tenant's GDPR export: its owners get every row the database holds about their tenant, and no
 * other tenant's; another tenant's owner gets nothing; each export is in the audit trail.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class TenantExportIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TestHTTPResource("/api/v1/tenants")
  URL tenants;

  @Test
  void anOwnerExportsEveryRowAboutItsTenantAndNothingOfAnothers() throws Exception {
    var namespace = TestTenants.ownedByCaja(LocalCluster.get().client(), "exporta", Tier.STARTUP);
    var neighbourNamespace =
        TestTenants.ownedByCaja(LocalCluster.get().client(), "exporta-vecina", Tier.STARTUP);
    for (var tenant : List.of("exporta", "exporta-vecina")) {
      TenantDatabaseIT.insertBatch(tenant, "lote");
      TenantDatabaseIT.insertHistory(tenant);
    }
    var owner = token(namespace);
    // Written in the clear as from before encryption; the leader seals them at rest.
    org.awaitility.Awaitility.await("the tenant's outcomes sealed at rest")
        .atMost(java.time.Duration.ofSeconds(60))
        .until(
            () -> {
              try (var c = Postgres.get().superuser("robusto")) {
                return count(
                        c,
                        "SELECT count(*) FROM automation_item_outcomes WHERE tenant_id = 'exporta'"
                            + " AND (payload -> '"
                            + PayloadCipher.FIELD
                            + "') IS NULL")
                    == 0;
              }
            });

    var answer = export(owner, "exporta");
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(answer.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("application/x-ndjson"));
    var byTable = new TreeMap<String, List<JsonNode>>();
    for (var line : answer.body().split("\n")) {
      var entry = JSON.readTree(line);
      byTable
          .computeIfAbsent(entry.get("table").asText(), t -> new ArrayList<>())
          .add(entry.get("row"));
    }
    // Every row the database holds about it, table by table, and only its own.
    try (var c = Postgres.get().superuser("robusto")) {
      for (var table : TenantExportApi.tenantTables(c)) {
        if (table.equals(TenantExportApi.NOT_EXPORTED)) {
          assertThat(byTable).doesNotContainKey(table);
          continue;
        }
        var expected =
            count(
                c,
                "SELECT count(*) FROM "
                    + table
                    + " t WHERE tenant_id = 'exporta'"
                    + (table.equals("audit_log")
                        ? " AND seq > " + dev.robusto.audit.AuditStore.lastErasureOf("t")
                        : ""));
        assertThat(byTable.getOrDefault(table, List.of()))
            .as(table)
            .hasSize((int) expected)
            .allSatisfy(row -> assertThat(row.get("tenant_id").asText()).isEqualTo("exporta"));
      }
    }
    // Payloads as the tenant gave them, not as they are sealed at rest.
    assertThat(byTable.get("automation_item_outcomes"))
        .allSatisfy(row -> assertThat(row.get("payload").has(PayloadCipher.FIELD)).isFalse());
    assertThat(byTable.keySet())
        .contains(
            "tenant_config",
            "automation_batches",
            "automation_item_outcomes",
            "automation_item_keys",
            "automation_ticket_steps",
            "automation_attempts",
            "audit_log",
            "api_calls");
    assertThat(byTable.get("automation_item_outcomes").get(0).get("payload").get("rfc").asText())
        .isEqualTo("XAXX010101000");
    assertThat(byTable.get("api_calls"))
        .singleElement()
        .satisfies(row -> assertThat(row.get("namespace").asText()).isEqualTo(namespace));
    assertThat(answer.body()).doesNotContain(neighbourNamespace, "exporta-vecina");
    // The export itself is in the trail, under the caller's name.
    assertThat(byTable.get("audit_log"))
        .anySatisfy(
            row -> {
              assertThat(row.get("action").asText()).isEqualTo("export");
              assertThat(row.get("resource").asText()).isEqualTo("tenant-rows/exporta");
              assertThat(row.get("actor").asText())
                  .isEqualTo("api:system:serviceaccount:" + namespace + ":caja");
            });

    // Another tenant's owner, or anyone asking about a tenant that is not theirs, gets nothing.
    var neighbour = token(neighbourNamespace);
    assertThat(export(neighbour, "exporta").statusCode()).isEqualTo(403);
    assertThat(export(neighbour, "no-existe").statusCode()).isEqualTo(403);
    assertThat(export("made-up", "exporta").statusCode()).isEqualTo(401);
  }

  private HttpResponse<String> export(String token, String tenant) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(tenants + "/" + tenant + "/export"))
                .header("Authorization", "Bearer " + token)
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private static long count(java.sql.Connection c, String sql) throws Exception {
    try (var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String token(String namespace) {
    return LocalCluster.get().kubectl("create", "token", "caja", "-n", namespace).strip();
  }
}
