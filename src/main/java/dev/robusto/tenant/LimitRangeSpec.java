package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.LinkedHashMap;
import java.util.Map;

/** Per-container defaults and maximums; each key overrides the operator's default. */
public class LimitRangeSpec {

  @JsonPropertyDescription("Default container requests, e.g. cpu: 100m, memory: 128Mi.")
  private Map<String, Quantity> defaultRequest = new LinkedHashMap<>();

  @JsonPropertyDescription("Default container limits, e.g. cpu: 500m, memory: 512Mi.")
  private Map<String, Quantity> defaultLimit = new LinkedHashMap<>();

  @JsonPropertyDescription("Largest limits a single container may ask for.")
  private Map<String, Quantity> max = new LinkedHashMap<>();

  public Map<String, Quantity> getDefaultRequest() {
    return defaultRequest;
  }

  public void setDefaultRequest(Map<String, Quantity> defaultRequest) {
    this.defaultRequest = defaultRequest == null ? new LinkedHashMap<>() : defaultRequest;
  }

  public Map<String, Quantity> getDefaultLimit() {
    return defaultLimit;
  }

  public void setDefaultLimit(Map<String, Quantity> defaultLimit) {
    this.defaultLimit = defaultLimit == null ? new LinkedHashMap<>() : defaultLimit;
  }

  public Map<String, Quantity> getMax() {
    return max;
  }

  public void setMax(Map<String, Quantity> max) {
    this.max = max == null ? new LinkedHashMap<>() : max;
  }
}
