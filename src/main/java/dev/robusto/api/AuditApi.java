package dev.robusto.api;

import dev.robusto.store.AuditAnchoring;
import dev.robusto.store.AuditStore;
import dev.robusto.store.AuditVerification;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.sql.SQLException;

/** Audit verification over HTTP: 200 when the chain is intact, 409 with the first broken row. */
@Path("/api/v1/audit")
public class AuditApi {

  private final AuditStore store;
  private final AuditAnchoring anchoring;

  AuditApi(AuditStore store, AuditAnchoring anchoring) {
    this.store = store;
    this.anchoring = anchoring;
  }

  /** The body of a verification answer; the anchor it was checked against, if any. */
  public record VerifyResponse(
      boolean intact,
      long rows,
      Long firstBrokenSeq,
      String problem,
      long millis,
      Long anchorSeq,
      String anchorHash) {}

  @GET
  @Path("/verify")
  @Produces(MediaType.APPLICATION_JSON)
  public Response verify() throws SQLException {
    var anchor = anchoring.current();
    AuditVerification result = store.verify(anchor.orElse(null));
    var body =
        new VerifyResponse(
            result.intact(),
            result.rows(),
            result.firstBrokenSeq(),
            result.problem(),
            result.millis(),
            anchor.map(a -> a.seq()).orElse(null),
            anchor.map(a -> a.hash()).orElse(null));
    return Response.status(result.intact() ? 200 : 409).entity(body).build();
  }
}
