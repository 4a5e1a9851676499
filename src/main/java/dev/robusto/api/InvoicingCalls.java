package dev.robusto.api;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.ext.Provider;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Every answer of the ticket API: counted ({@link ApiCalls}) per version and endpoint, and per
 * caller when its token is known; v1's carry its deprecation (RFC 9745 {@code Deprecation}), its
 * end (RFC 8594 {@code Sunset}) and a {@code Link} to the v2 equivalent, as the chart's values say
 * (a date, or off).
 */
@Provider
public class InvoicingCalls implements ContainerResponseFilter {

  private static final String PREFIX = "/invoicing/";

  private final ApiCalls calls;
  private final KubeAuth auth;
  private final String deprecation;
  private final String sunset;

  InvoicingCalls(
      ApiCalls calls,
      KubeAuth auth,
      @ConfigProperty(name = "robusto.api.v1.deprecation") Optional<String> deprecation,
      @ConfigProperty(name = "robusto.api.v1.sunset") Optional<String> sunset) {
    this.calls = calls;
    this.auth = auth;
    // Checked at start: a wrong date stops the operator with the property's name, not a header.
    this.deprecation =
        date(deprecation)
            .map(d -> "@" + d.atStartOfDay(ZoneOffset.UTC).toEpochSecond())
            .orElse(null);
    this.sunset =
        date(sunset)
            .map(d -> DateTimeFormatter.RFC_1123_DATE_TIME.format(d.atStartOfDay(ZoneOffset.UTC)))
            .orElse(null);
  }

  @Override
  public void filter(ContainerRequestContext request, ContainerResponseContext response) {
    var path = "/" + request.getUriInfo().getPath().replaceFirst("^/+", "");
    if (!path.startsWith(PREFIX)) {
      return;
    }
    var rest = path.substring(PREFIX.length());
    var slash = rest.indexOf('/');
    var version = slash < 0 ? rest : rest.substring(0, slash);
    if (!version.equals("v1") && !version.equals("v2")) {
      return;
    }
    var resource = slash < 0 ? "" : rest.substring(slash + 1);
    if (version.equals("v1")) {
      var headers = response.getHeaders();
      if (deprecation != null) {
        headers.putSingle("Deprecation", deprecation);
      }
      if (sunset != null) {
        headers.putSingle("Sunset", sunset);
      }
      if (deprecation != null || sunset != null) {
        headers.add("Link", "<" + PREFIX + "v2/" + resource + ">; rel=\"successor-version\"");
      }
    }
    String caller = null;
    String namespace = null;
    try {
      var user = auth.cachedUser(request.getHeaderString("Authorization"));
      if (user != null) {
        caller = user.getUsername();
        namespace = request.getUriInfo().getQueryParameters().getFirst("namespace");
        if (namespace == null) {
          namespace = Invoicing.serviceAccountNamespace(caller);
        }
      }
    } catch (RuntimeException refused) {
      // no token, or a refused one: counted without a caller
    }
    calls.record(
        version,
        request.getMethod() + " " + endpoint(resource),
        response.getStatus(),
        namespace,
        caller);
  }

  /** The endpoint's template: a bounded set, whatever the path holds. */
  static String endpoint(String resource) {
    var parts = resource.split("/", 2);
    return switch (parts[0]) {
      case "tickets" -> parts.length > 1 ? "/tickets/{id}" : "/tickets";
      case "jobs", "bulk", "migration-report" -> parts.length > 1 ? "/other" : "/" + parts[0];
      default -> "/other";
    };
  }

  private static Optional<LocalDate> date(Optional<String> value) {
    return value
        .map(String::strip)
        .filter(v -> !v.isEmpty() && !v.equalsIgnoreCase("off"))
        .map(LocalDate::parse);
  }
}
