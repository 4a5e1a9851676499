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
 * caller when it was authorized; v1's carry its deprecation (RFC 9745 {@code Deprecation}), its end
 * (RFC 8594 {@code Sunset}) and a {@code Link} to the v2 equivalent, as the chart's values say (a
 * date, or off).
 */
@Provider
public class InvoicingCalls implements ContainerResponseFilter {

  private static final String PREFIX = "/invoicing/";
  private static final java.util.regex.Pattern CONTROL =
      java.util.regex.Pattern.compile("^[^/]+:(pause|resume|redrive)$");
  private static final java.util.regex.Pattern STREAM =
      java.util.regex.Pattern.compile("[^/]+/stream");

  private final ApiCalls calls;
  private final AuthorizedCaller authorized;
  private final String deprecation;
  private final String sunset;

  InvoicingCalls(
      ApiCalls calls,
      AuthorizedCaller authorized,
      @ConfigProperty(name = "robusto.api.v1.deprecation") Optional<String> deprecation,
      @ConfigProperty(name = "robusto.api.v1.sunset") Optional<String> sunset) {
    this.calls = calls;
    this.authorized = authorized;
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
    var path = request.getUriInfo().getPath();
    var start = 0;
    while (start < path.length() && path.charAt(start) == '/') {
      start++;
    }
    path = "/" + path.substring(start);
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
      deprecationHeaders(deprecation, sunset, resource).forEach(response.getHeaders()::putSingle);
    }
    // Per caller only when the request was authorized: a refused one names no row.
    calls.record(
        version,
        method(request.getMethod()) + " " + endpoint(resource),
        response.getStatus(),
        authorized.namespace(),
        authorized.user());
  }

  /**
   * What a v1 answer about {@code resource} says of v1's end: Deprecation (RFC 9745, "@" and epoch
   * seconds), Sunset (RFC 8594, an HTTP date) and a Link to the v2 equivalent, each only when its
   * date is set (null: off); nothing when both are off.
   */
  static java.util.Map<String, String> deprecationHeaders(
      String deprecation, String sunset, String resource) {
    var headers = new java.util.LinkedHashMap<String, String>();
    if (deprecation != null) {
      headers.put("Deprecation", deprecation);
    }
    if (sunset != null) {
      headers.put("Sunset", sunset);
    }
    if (!headers.isEmpty()) {
      headers.put("Link", "<" + PREFIX + "v2/" + resource + ">; rel=\"successor-version\"");
    }
    return headers;
  }

  /** The request's method, from a bounded set whatever the client sends. */
  static String method(String method) {
    return switch (method) {
      case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" -> method;
      default -> "OTHER";
    };
  }

  /** The endpoint's template: a bounded set, whatever the path holds. */
  static String endpoint(String resource) {
    var parts = resource.split("/", 2);
    return switch (parts[0]) {
      case "tickets" -> parts.length > 1 ? "/tickets/{id}" : "/tickets";
      case "jobs" -> {
        if (parts.length == 1) {
          yield "/jobs";
        }
        var control = CONTROL.matcher(parts[1]);
        yield STREAM.matcher(parts[1]).matches()
            ? "/jobs/{id}/stream"
            : control.matches() ? "/jobs/{id}:" + control.group(1) : "/other";
      }
      case "bulk", "migration-report", "merchants", "health", "metrics" ->
          parts.length > 1 ? "/other" : "/" + parts[0];
      default -> "/other";
    };
  }

  /** The Deprecation header's value for a configured date ("off" or empty: none). */
  static Optional<String> deprecationValue(Optional<String> date) {
    return date(date).map(d -> "@" + d.atStartOfDay(ZoneOffset.UTC).toEpochSecond());
  }

  /** The Sunset header's value for a configured date ("off" or empty: none). */
  static Optional<String> sunsetValue(Optional<String> date) {
    return date(date)
        .map(d -> DateTimeFormatter.RFC_1123_DATE_TIME.format(d.atStartOfDay(ZoneOffset.UTC)));
  }

  private static Optional<LocalDate> date(Optional<String> value) {
    return value
        .map(String::strip)
        .filter(v -> !v.isEmpty() && !v.equalsIgnoreCase("off"))
        .map(LocalDate::parse);
  }
}
