package dev.robusto.batch;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.crd.generator.annotation.PreserveUnknownFields;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

@ValidationRule(
    value = "has(self.items) != has(self.itemsFrom)",
    message = "give the tickets either inline in items or by reference in itemsFrom, not both")
@ValidationRule(
    value = "has(self.processor) != has(self.deployment)",
    message =
        "give exactly one of processor (the batch starts its own worker Jobs) or deployment (an"
            + " AutomationDeployment's fleet processes the tickets)")
public class AutomationBatchSpec {

  /** Go-style durations, as Kubernetes users write them: 500ms, 30s, 5m, 1h30m. */
  static final String DURATION = "^([0-9]+(ms|s|m|h))+$";

  @Size(min = 1, max = 5_000)
  @JsonPropertyDescription(
      "The tickets, inline. Each key is the ticket's idempotency key within the tenant: a key"
          + " already submitted is not processed again. For more than a few thousand, use"
          + " itemsFrom.")
  public List<Item> items;

  @JsonPropertyDescription("The tickets, from a key of a ConfigMap or Secret in this namespace.")
  public ItemsSource itemsFrom;

  @Default("normal")
  @JsonPropertyDescription("baja, normal, alta or urgente: who gets the tenant's workers first.")
  public Priority priority = Priority.NORMAL;

  @JsonPropertyDescription(
      "How each ticket is processed by the batch's own worker Jobs: exactly one of http, command,"
          + " simulated.")
  public Processor processor;

  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  @Size(max = 63)
  @JsonPropertyDescription(
      "Instead of a processor: the AutomationDeployment (same namespace) whose worker fleet"
          + " processes the tickets, with its own processor. The batch then starts no Jobs and"
          + " takes none of the tenant's concurrent workers; the daily quota still applies.")
  public String deployment;

  @Min(1)
  @Max(1_000)
  @Default("5")
  @JsonPropertyDescription(
      "Workers wanted at once; the tenant's maxConcurrentJobs, shared by its batches, caps it.")
  public Integer parallelism = 5;

  @Min(1)
  @Max(100)
  @Default("5")
  @JsonPropertyDescription("Attempts per ticket before it is dead-lettered with its last error.")
  public Integer maxAttempts = 5;

  @JsonPropertyDescription("Delay between attempts: exponential with full jitter.")
  public Backoff backoff = new Backoff();

  @Pattern(DURATION)
  @Default("30s")
  @JsonPropertyDescription("How long one attempt may take (http and command processors).")
  public String itemTimeout = "30s";

  @Default("false")
  @JsonPropertyDescription(
      "true pauses the batch: its workers finish the ticket in hand and stop, no worker claims its"
          + " tickets (a fleet's neither), and its share of the tenant's workers goes to its other"
          + " batches. false resumes it.")
  public Boolean suspend = false;

  @Min(0)
  @Default("0")
  @ValidationRule(
      value = "self >= oldSelf",
      message =
          "redriveGeneration only goes up: raise it past status.redrivenGeneration to redrive")
  @JsonPropertyDescription(
      "Raise it past status.redrivenGeneration to requeue the batch's dead-lettered tickets with"
          + " fresh attempts, once per value: they are admitted again within the tenant's daily"
          + " quota (and billed again), with the same idempotency keys.")
  public Long redriveGeneration = 0L;

  /** One ticket. */
  public static class Item {

    @Required
    @Size(min = 1, max = 255)
    @JsonPropertyDescription("Idempotency key, unique within the tenant (for example the folio).")
    public String key;

    @PreserveUnknownFields
    @JsonPropertyDescription("The ticket's data, sent to the processor as JSON.")
    public JsonNode payload;
  }

  /** Where the tickets are when not inline: a JSON array of {key, payload}. */
  @ValidationRule(
      value = "has(self.configMapName) != has(self.secretName)",
      message = "itemsFrom takes exactly one of configMapName and secretName")
  public static class ItemsSource {

    @JsonPropertyDescription("A ConfigMap in the batch's namespace.")
    public String configMapName;

    @JsonPropertyDescription("A Secret in the batch's namespace (payloads with personal data).")
    public String secretName;

    @Default("items.json")
    @JsonPropertyDescription("The key holding the JSON array. Default: items.json.")
    public String key = "items.json";
  }

  @ValidationRule(
      value =
          "(has(self.http) ? 1 : 0) + (has(self.command) ? 1 : 0) + (has(self.simulated) ? 1 : 0) == 1",
      message = "processor takes exactly one of http, command and simulated")
  public static class Processor {

    @JsonPropertyDescription(
        "POST each ticket's payload to a URL with the ticket's key as Idempotency-Key.")
    public Http http;

    @JsonPropertyDescription(
        "Run a program per ticket in the worker container: payload on stdin, key in"
            + " ROBUSTO_ITEM_KEY; exit 0 succeeds, 64 to 78 (sysexits, but 75) fail for good,"
            + " anything else is retried.")
    public Command command;

    @JsonPropertyDescription(
        "No real work: latency and failures drawn from a seed, for drills and benchmarks.")
    public Simulated simulated;
  }

  /** POST each ticket with Idempotency-Key: its key, to a URL or a Merchant's portal. */
  @ValidationRule(
      value = "has(self.url) != has(self.merchant)",
      message =
          "http takes exactly one of url (a service of your own) and merchant (a Merchant in this"
              + " namespace)")
  public static class Http {

    @Pattern("^https?://[^/@\\s]+(/\\S*)?$")
    @JsonPropertyDescription(
        "The tenant's automation service endpoint; no credentials in it (user:password@ is refused).")
    public String url;

    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @Size(max = 253)
    @JsonPropertyDescription(
        "Instead of url: a Merchant in this namespace, whose URLs, timeout, rate limit, circuit"
            + " breaker and credentials the workers use. Read when a worker Job starts.")
    public String merchant;
  }

  /** Run a program per ticket: payload on stdin, key in ROBUSTO_ITEM_KEY. */
  public static class Command {

    @Required
    @Size(min = 1, max = 64)
    @JsonPropertyDescription("Program and arguments, run in the worker container.")
    public List<String> command;
  }

  /** For drills and benchmarks: latency and failures, replayable from a seed. */
  public static class Simulated {

    @Default("fixed")
    @Pattern("^(fixed|uniform|exponential)$")
    @JsonPropertyDescription("fixed, uniform (0 to twice the mean) or exponential.")
    public String distribution = "fixed";

    @Pattern(DURATION)
    @Default("0s")
    @JsonPropertyDescription("Mean time an attempt takes, as a duration (500ms, 2s).")
    public String meanLatency = "0s";

    @Min(0)
    @Max(1)
    @Default("0")
    @JsonPropertyDescription("Share of attempts that fail and are retried.")
    public Double failureRate = 0.0;

    @Min(0)
    @Max(1)
    @Default("0")
    @JsonPropertyDescription("Share of attempts that fail for good (like an HTTP 4xx).")
    public Double permanentFailureRate = 0.0;

    @Default("0")
    @JsonPropertyDescription(
        "Seed of the random draws: the same seed and key give the same latency and failures.")
    public Long seed = 0L;
  }

  public static class Backoff {

    @Pattern(DURATION)
    @Default("1s")
    @JsonPropertyDescription("Delay bound before the second attempt, as a duration (1s, 500ms).")
    public String initial = "1s";

    @Pattern(DURATION)
    @Default("5m")
    @JsonPropertyDescription("The delay bound never grows past this duration.")
    public String max = "5m";

    @Min(1)
    @Max(10)
    @Default("2")
    @JsonPropertyDescription("Factor the delay bound grows by after each failed attempt.")
    public Double multiplier = 2.0;
  }
}
