package dev.robusto.audit;

import dev.robusto.api.CallerLimits;
import dev.robusto.api.KubeAuth;
import dev.robusto.tenant.TenantDatabase;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.sql.SQLException;
import java.util.List;

/**
 * The audit trail over HTTP.
 *
 * <ul>
 *   <li>{@code GET /api/v1/audit/verify}: 200 when the chain is intact, 409 with the first broken
 *       row. The caller needs get on robusto.dev auditlogs (the chart's ClusterRole {@code
 *       <release>-audit-reader}). The answer is the shared, incremental one of {@link
 *       AuditVerifications}; {@code ?full=true} walks the whole chain.
 *   <li>{@code GET /api/v1/audit/entries}: the rows themselves, newest first, filtered and paged. A
 *       tenant's owners read their own tenant's ({@code ?tenant=}: list on robusto.dev auditentries
 *       in its namespace, which the chart's view role gives); everything else, a deleted tenant's
 *       entries included, needs that grant cluster-wide (the audit-reader role).
 *   <li>{@code GET /api/v1/audit/custody}: the chain of custody of ticket outcomes ({@link
 *       OutcomeCustody}) verified, 200 or 409 with the first broken audit row; as verify.
 * </ul>
 */
@Path("/api/v1/audit")
public class AuditApi {

  /** The most rows one page holds. */
  static final int MAX_LIMIT = 500;

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final AuditVerifications verifications;
  private final AuditStore store;
  private final TenantDatabase tenants;
  private final OutcomeCustody custody;

  AuditApi(
      KubeAuth auth,
      CallerLimits limits,
      AuditVerifications verifications,
      AuditStore store,
      TenantDatabase tenants,
      OutcomeCustody custody) {
    this.auth = auth;
    this.limits = limits;
    this.verifications = verifications;
    this.store = store;
    this.tenants = tenants;
    this.custody = custody;
  }

  /**
   * One row of the trail: what changed, who changed it (and, when recorded at admission, the groups
   * they asked as), and the chain's hashes.
   */
  public record Entry(
      long seq,
      String at,
      String actor,
      List<String> actorGroups,
      String action,
      String resource,
      String tenant,
      String beforeHash,
      String afterHash,
      String hash) {}

  /** A page of entries; {@code nextCursor} fetches the next (absent: the last page). */
  @com.fasterxml.jackson.annotation.JsonInclude(
      com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  public record Entries(List<Entry> entries, String nextCursor) {}

  @GET
  @Path("/entries")
  @Produces(MediaType.APPLICATION_JSON)
  public Entries entries(
      @HeaderParam("Authorization") String authorization,
      @QueryParam("tenant") String tenant,
      @QueryParam("actor") String actor,
      @QueryParam("action") String action,
      @QueryParam("resource") String resource,
      @QueryParam("from") String from,
      @QueryParam("to") String to,
      @QueryParam("cursor") String cursor,
      @QueryParam("limit") @DefaultValue("100") int limit)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.AUDIT, caller.getUsername());
    var namespace =
        tenant == null
            ? null
            : tenants
                .config(text("tenant", tenant))
                .filter(c -> !c.retained())
                .map(TenantDatabase.Config::namespace)
                .orElse(null);
    // Auditors read everything; a tenant's owners (a grant in its namespace) only what was recorded
    // since the tenant's name was last erased, not an erased predecessor's of the same name.
    var auditor = true;
    try {
      auth.allow(caller, "list", "auditentries", null, null);
    } catch (jakarta.ws.rs.WebApplicationException e) {
      if (namespace == null || e.getResponse().getStatus() != 403) {
        throw e;
      }
      auth.allow(caller, "list", "auditentries", null, namespace);
      auditor = false;
    }
    if (limit < 1 || limit > MAX_LIMIT) {
      throw KubeAuth.refuse(400, "limit is 1 to %d.".formatted(MAX_LIMIT), "limit");
    }
    var filter =
        new AuditStore.Filter(
            tenant,
            text("actor", actor),
            text("action", action),
            text("resource", resource),
            instant("from", from),
            instant("to", to),
            !auditor);
    var rows = store.entries(filter, before(cursor), limit);
    var entries =
        rows.stream()
            .map(
                r ->
                    new Entry(
                        r.seq(),
                        r.at().toString(),
                        r.actor(),
                        groups(r.actorGroups()),
                        r.action(),
                        r.resource(),
                        r.tenantId(),
                        r.beforeHash(),
                        r.afterHash(),
                        r.hash()))
            .toList();
    return new Entries(
        entries, rows.size() == limit ? Long.toString(rows.get(rows.size() - 1).seq()) : null);
  }

  private static List<String> groups(String json) {
    if (json == null) {
      return null;
    }
    return List.of(
        io.fabric8.kubernetes.client.utils.Serialization.unmarshal(json, String[].class));
  }

  /** A filter's text: absent when empty, refused when longer than any name it could match. */
  private static String text(String field, String value) {
    if (value != null && value.length() > 512) {
      throw KubeAuth.refuse(400, field + " is at most 512 characters.", field);
    }
    return value == null || value.isEmpty() ? null : value;
  }

  private static java.time.Instant instant(String field, String value) {
    if (value == null) {
      return null;
    }
    try {
      return java.time.Instant.parse(value);
    } catch (java.time.format.DateTimeParseException e) {
      throw KubeAuth.refuse(
          400, field + " is an RFC 3339 time in UTC, e.g. 2026-12-01T00:00:00Z.", field);
    }
  }

  /** The row a page starts before: the cursor a previous page gave, else past the last. */
  private static long before(String cursor) {
    if (cursor == null) {
      return Long.MAX_VALUE;
    }
    try {
      var seq = Long.parseLong(cursor);
      if (seq > 0) {
        return seq;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw KubeAuth.refuse(400, "cursor is the nextCursor of a previous page.", "cursor");
  }

  /**
   * The body of a verification answer: over the rows from {@code fromSeq} to {@code rows} (the
   * chain's length), the anchor it was checked against, if any, and the ids of the keys whose seals
   * were checked (none: the chain is hash-linked only).
   */
  public record VerifyResponse(
      boolean intact,
      long rows,
      Long firstBrokenSeq,
      String problem,
      long millis,
      Long anchorSeq,
      String anchorHash,
      long fromSeq,
      String verifiedAt,
      java.util.List<String> sealKeys) {}

  @GET
  @Path("/verify")
  @Produces(MediaType.APPLICATION_JSON)
  public Response verify(
      @HeaderParam("Authorization") String authorization, @QueryParam("full") boolean full)
      throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.AUDIT, caller.getUsername());
    auth.allow(caller, "get", "auditlogs", null, null);
    var result = full ? verifications.full() : verifications.latest();
    var verification = result.verification();
    var body =
        new VerifyResponse(
            verification.intact(),
            result.chainLength(),
            verification.firstBrokenSeq(),
            verification.problem(),
            verification.millis(),
            result.anchor().map(a -> a.seq()).orElse(null),
            result.anchor().map(a -> a.hash()).orElse(null),
            result.fromSeq(),
            result.at().toString(),
            store.keys().ids());
    return Response.status(verification.intact() ? 200 : 409).entity(body).build();
  }

  @GET
  @Path("/custody")
  @Produces(MediaType.APPLICATION_JSON)
  public Response custody(@HeaderParam("Authorization") String authorization) throws SQLException {
    var caller = auth.authenticate(authorization);
    limits.admit(CallerLimits.Api.AUDIT, caller.getUsername());
    auth.allow(caller, "get", "auditlogs", null, null);
    var verification = custody.verify();
    return Response.status(verification.intact() ? 200 : 409).entity(verification).build();
  }
}
