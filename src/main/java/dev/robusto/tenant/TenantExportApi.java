package dev.robusto.tenant;

import dev.robusto.api.CallerLimits;
import dev.robusto.api.KubeAuth;
import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Everything the platform's database holds about a tenant, for its owners' GDPR requests: {@code
 * GET /api/v1/tenants/{name}/export}, JSON lines ({@code {"table": ..., "row": {...}}}) of every
 * table with a tenant_id (found in the catalog, so a table added later is exported too: the audit
 * trail's entries since its name was last erased and its ticket API calls among them), from one
 * snapshot, two exports at a time. The caller needs get on robusto.dev tenantexports in the
 * tenant's namespace (its owners, through the chart's edit role) or cluster-wide (a retained
 * tenant's rows, after its namespace is gone); each export is recorded in the audit trail.
 */
@Path("/api/v1/tenants/{name}/export")
public class TenantExportApi {

  static final String MEDIA_TYPE = "application/x-ndjson";

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final TenantDatabase database;
  private final DataSource dataSource;
  private final AuditLog audit;
  private final java.util.concurrent.Semaphore running = new java.util.concurrent.Semaphore(2);

  /** Its payload data keys, wrapped: nothing about the people the data is about. */
  static final String NOT_EXPORTED = "tenant_payload_keys";

  private final PayloadKeys payloadKeys;

  /** Numbers read as written, so a ticket's total is exported as the tenant gave it. */
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = TenantUsageStore.EXACT;

  TenantExportApi(
      KubeAuth auth,
      CallerLimits limits,
      TenantDatabase database,
      DataSource dataSource,
      AuditLog audit,
      PayloadKeys payloadKeys) {
    this.payloadKeys = payloadKeys;
    this.auth = auth;
    this.limits = limits;
    this.database = database;
    this.dataSource = dataSource;
    this.audit = audit;
  }

  @GET
  @Produces(MEDIA_TYPE)
  public Response export(
      @HeaderParam("Authorization") String authorization, @PathParam("name") String name)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.USAGE, caller.getUsername());
    var config = database.config(name);
    // A retained or unknown tenant is asked about cluster-wide: its namespace is not its own now.
    auth.allow(
        caller,
        "get",
        "tenantexports",
        null,
        config.filter(c -> !c.retained()).map(TenantDatabase.Config::namespace).orElse(null));
    if (config.isEmpty()) {
      throw KubeAuth.refuse(404, "No tenant named " + name + " has rows in the database.");
    }
    // A database connection and a snapshot held while a client reads: two exports at a time (the
    // permit is taken where it is released, so an answer never written cannot keep one).
    if (running.availablePermits() == 0) {
      throw KubeAuth.refuse(429, "Two exports are running on this replica; retry in a minute.");
    }
    new Auditor(audit, "api:" + caller.getUsername())
        .record("export", "tenant-rows/" + name, name, null, null);
    StreamingOutput body = out -> write(name, out);
    return Response.ok(body)
        .header("Content-Disposition", "attachment; filename=\"" + name + ".jsonl\"")
        .build();
  }

  private void write(String tenantId, java.io.OutputStream out) throws IOException {
    try {
      if (!running.tryAcquire(60, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new IOException("two exports kept running for a minute: this one gave up");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted before the export started", e);
    }
    try {
      writeRows(tenantId, out);
    } finally {
      running.release();
    }
  }

  private void writeRows(String tenantId, java.io.OutputStream out) throws IOException {
    var writer = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      // One snapshot for every table, read in pages rather than held in memory; a client that
      // stops reading ends it (the transaction waits idle between pages), not the pool.
      c.createStatement().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      c.createStatement().execute("SET LOCAL idle_in_transaction_session_timeout = '60s'");
      for (var table : tenantTables(c)) {
        if (table.equals(NOT_EXPORTED)) {
          continue;
        }
        // The trail outlives a tenant: an erased predecessor's entries under the same name are not
        // this one's.
        lines(
            c,
            table.equals("audit_log")
                ? "SELECT %s FROM %s t WHERE tenant_id = ? AND seq > "
                    + dev.robusto.audit.AuditStore.lastErasureOf("t")
                : "SELECT %s FROM %s t WHERE tenant_id = ?",
            table,
            tenantId,
            writer);
      }
      c.commit();
    } catch (SQLException e) {
      // Mid-stream there is no status left to send: the cut answer ends without its last line.
      throw new IOException("the export stopped: " + e.getMessage(), e);
    }
    writer.flush();
  }

  /** The tables with a tenant_id column, the tenant's own row first. */
  static List<String> tenantTables(Connection c) throws SQLException {
    var tables = new ArrayList<String>();
    try (var rs =
        c.createStatement()
            .executeQuery(
                """
                SELECT c.table_name FROM information_schema.columns c
                  JOIN information_schema.tables t USING (table_schema, table_name)
                 WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
                   AND t.table_type = 'BASE TABLE'
                 ORDER BY c.table_name <> 'tenant_config', c.table_name
                """)) {
      while (rs.next()) {
        tables.add(rs.getString(1));
      }
    }
    return tables;
  }

  private void lines(Connection c, String query, String table, String key, BufferedWriter writer)
      throws SQLException, IOException {
    var line =
        "json_build_object('table', %s, 'row', row_to_json(t))::text"
            .formatted(quoteLiteral(table));
    try (var statement = c.prepareStatement(query.formatted(line, quoteIdentifier(table)))) {
      statement.setFetchSize(500);
      statement.setString(1, key);
      try (var rs = statement.executeQuery()) {
        while (rs.next()) {
          writer.write(withPayloadOpened(key, rs.getString(1)));
          writer.write('\n');
        }
      }
    }
  }

  /**
   * The line with its row's payload as the tenant gave it: an export is for the people the data is
   * about, not ciphertext. One that does not open (its key gone) stays sealed.
   */
  private String withPayloadOpened(String tenantId, String line) throws SQLException, IOException {
    if (!line.contains(PayloadCipher.FIELD)) {
      return line;
    }
    var node = JSON.readTree(line);
    var row = node.get("row");
    var payload = row == null ? null : row.get("payload");
    if (payload == null || !row.isObject()) {
      return line;
    }
    try {
      var opened = payloadKeys.open(tenantId, payload.toString());
      ((com.fasterxml.jackson.databind.node.ObjectNode) row).set("payload", JSON.readTree(opened));
      return node.toString();
    } catch (PayloadCipher.UnreadablePayloadException e) {
      return line;
    }
  }

  private static String quoteIdentifier(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  private static String quoteLiteral(String text) {
    return "'" + text.replace("'", "''") + "'";
  }
}
