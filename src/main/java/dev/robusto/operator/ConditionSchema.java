package dev.robusto.operator;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * The schema of a status condition as the CRDs publish it: Kubernetes' metav1.Condition, with the
 * descriptions {@code kubectl explain} shows. The resources hold Fabric8's {@code Condition}; this
 * class only describes it (through {@code @SchemaFrom}).
 */
public final class ConditionSchema {

  public static final String DESCRIPTION =
      "The resource's state as conditions, Ready first: its status, a CamelCase reason and a"
          + " message that says what to do.";

  private ConditionSchema() {}

  @JsonPropertyDescription(
      "Ready, another aspect of the resource, or Stalled: present, and True, only while nothing"
          + " more happens without a person (Flux's health checks read it).")
  public String type;

  @JsonPropertyDescription("True, False or Unknown.")
  public String status;

  @JsonPropertyDescription("Why, in one CamelCase word a program can match on.")
  public String reason;

  @JsonPropertyDescription("Why, in words, with what to fix when it is not True.")
  public String message;

  @JsonPropertyDescription("When status last changed (RFC 3339).")
  public String lastTransitionTime;

  @JsonPropertyDescription("The spec generation the condition was set for.")
  public Long observedGeneration;
}
