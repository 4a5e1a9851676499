package dev.robusto.merchant;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.robusto.operator.ConditionSchema;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the workers saw of a portal, as they last reported it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MerchantStatus {

  @JsonPropertyDescription("The spec generation this status reflects.")
  public Long observedGeneration;

  @JsonPropertyDescription("The Tenant whose namespace this is.")
  public String tenant;

  @JsonPropertyDescription(
      "The credential the workers called with last: Primary, Fallback (the portal refused the"
          + " primary: finish the rotation by moving it to primary), Missing (the Secret has"
          + " neither key), Refused (the portal refused both) or None (the merchant takes no"
          + " credential); absent before any call in the last hour.")
  public String credentialInUse;

  @JsonPropertyDescription(
      "The portal's circuits as last observed (in the last 2 minutes): Closed, PartlyOpen (some"
          + " URLs refused; the others take the calls), Open (every URL; tickets wait) or Unknown"
          + " (no worker is calling it).")
  public String circuit;

  @JsonPropertyDescription("The URLs whose circuit is open (host:port).")
  public List<String> openCircuits;

  @JsonPropertyDescription("The calls of the last hour.")
  public Calls lastHour;

  @JsonPropertyDescription("When a worker last reported on the portal (RFC 3339).")
  public String lastObservedTime;

  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription(ConditionSchema.DESCRIPTION)
  public List<Condition> conditions = new ArrayList<>();

  /** Calls to the portal over a period. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Calls {

    @JsonPropertyDescription("Calls the portal accepted.")
    public long succeeded;

    @JsonPropertyDescription("Calls that failed (refused, 5xx, timeouts, no credential).")
    public long failed;

    @JsonPropertyDescription("Calls retried at once with the fallback after a 401.")
    public long fallbacks;

    @JsonPropertyDescription("succeeded / (succeeded + failed), as a percentage (97.5%).")
    public String successRate;
  }
}
