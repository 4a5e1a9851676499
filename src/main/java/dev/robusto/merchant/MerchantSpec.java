package dev.robusto.merchant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/** A merchant portal as the workers call it. */
public class MerchantSpec {

  static final String URL = "^https?://[^/@\\s]+(/\\S*)?$";
  static final String DURATION = "^([0-9]+(ms|s|m|h))+$";

  @Required
  @Pattern(URL)
  @Size(max = 2048)
  @JsonPropertyDescription(
      "Where each ticket is POSTed (the tenant's automation service for this portal); no"
          + " credentials in it (user:password@ is refused): they go in credentials.")
  public String url;

  @Size(max = 5)
  @JsonPropertyDescription(
      "Tried in order when the URL before fails (5xx, timeout, connection refused) or its circuit"
          + " is open, within the same attempt: the Idempotency-Key keeps a ticket from being"
          + " invoiced twice.")
  public List<@Pattern(URL) @Size(max = 2048) String> alternativeUrls = new ArrayList<>();

  @Default("false")
  @JsonPropertyDescription(
      "The portal asks for a captcha: each call carries Robusto-Captcha-Solving: required, for"
          + " the automation service's solver.")
  public Boolean captchaSolving = false;

  @Pattern(DURATION)
  @Default("30s")
  @JsonPropertyDescription(
      "How long one call may take, as a duration (30s, 1m); replaces the batch's itemTimeout.")
  public String requestTimeout = "30s";

  @JsonPropertyDescription("How hard the portal may be called.")
  public RateLimit rateLimit = new RateLimit();

  @JsonPropertyDescription("When the workers stop calling a failing URL, and for how long.")
  public CircuitBreaker circuitBreaker = new CircuitBreaker();

  @JsonPropertyDescription(
      "The portal's credentials, from a Secret in this namespace with two keys, primary and"
          + " fallback. Omit for a portal that takes none.")
  public Credentials credentials;

  /** Calls a minute. */
  public static class RateLimit {

    @Min(0)
    @Max(1_000_000)
    @Default("0")
    @JsonPropertyDescription(
        "Calls a minute to the portal from one batch's workers (split evenly among them), on top"
            + " of the tenant's own limit; 0 is none.")
    public Integer requestsPerMinute = 0;
  }

  /** Consecutive failures open a URL's circuit; it stays open for openFor. */
  public static class CircuitBreaker {

    @Min(1)
    @Max(100)
    @Default("5")
    @JsonPropertyDescription("Consecutive failed calls to a URL that open its circuit.")
    public Integer failures = 5;

    @Pattern(DURATION)
    @Default("60s")
    @JsonPropertyDescription(
        "How long an open circuit refuses calls before one trial call, as a duration. Tickets"
            + " that find every URL's circuit open wait in the queue without using an attempt.")
    public String openFor = "60s";
  }

  /** Where the credentials are and how they are sent. */
  public static class Credentials {

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @Size(max = 253)
    @JsonPropertyDescription(
        "A Secret in this namespace with keys primary and fallback. Calls use primary; when the"
            + " portal answers 401 the worker reads the Secret again and retries at once with the"
            + " other. To rotate: put the new credential in fallback, switch the portal, then move"
            + " it to primary.")
    public String secretName;

    @Pattern("^[A-Za-z0-9-]{1,64}$")
    @Default("Authorization")
    @JsonPropertyDescription("The header that carries the credential.")
    public String header = "Authorization";

    @Pattern("^[A-Za-z0-9-]{0,32}$")
    @Default("Bearer")
    @JsonPropertyDescription(
        "What comes before the credential in the header, with a space (Bearer, Basic); empty"
            + " sends the credential alone.")
    public String scheme = "Bearer";
  }
}
