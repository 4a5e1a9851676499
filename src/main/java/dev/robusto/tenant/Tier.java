package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonValue;

/** A tenant's service tier; enterprise and startup carry defaults from the operator's config. */
public enum Tier {
  ENTERPRISE("enterprise"),
  STARTUP("startup"),
  CUSTOM("custom");

  private final String value;

  Tier(String value) {
    this.value = value;
  }

  @JsonValue
  public String value() {
    return value;
  }

  @Override
  public String toString() {
    return value;
  }
}
