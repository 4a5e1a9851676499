package dev.robusto.audit;

import dev.robusto.api.CallerLimits;
import dev.robusto.api.KubeAuth;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.sql.SQLException;

/**
 * Audit verification over HTTP: 200 when the chain is intact, 409 with the first broken row. The
 * caller needs a Kubernetes token allowed to get robusto.dev auditlogs (the chart's ClusterRole
 * {@code <release>-audit-reader}). The answer is the shared, incremental one of {@link
 * AuditVerifications}; {@code ?full=true} walks the whole chain.
 */
@Path("/api/v1/audit")
public class AuditApi {

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final AuditVerifications verifications;

  AuditApi(KubeAuth auth, CallerLimits limits, AuditVerifications verifications) {
    this.auth = auth;
    this.limits = limits;
    this.verifications = verifications;
  }

  /**
   * The body of a verification answer: over the rows from {@code fromSeq} to {@code rows} (the
   * chain's length), and the anchor it was checked against, if any.
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
      String verifiedAt) {}

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
            result.at().toString());
    return Response.status(verification.intact() ? 200 : 409).entity(body).build();
  }
}
