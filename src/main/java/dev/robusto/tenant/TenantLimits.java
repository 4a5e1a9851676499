package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import java.util.Objects;

/** Job limits of a tenant. In the spec every field is optional; in the status all are set. */
public class TenantLimits {

  @Min(1)
  @Max(10_000)
  @JsonPropertyDescription("Worker jobs running at once across all the tenant's batches.")
  private Integer maxConcurrentJobs;

  @Min(1)
  @Max(10_000_000)
  @JsonPropertyDescription("Jobs admitted per UTC day.")
  private Integer maxDailyJobs;

  @Min(1)
  @Max(1_000_000)
  @JsonPropertyDescription("Requests per minute the tenant's workers may send to its endpoints.")
  private Integer requestsPerMinute;

  public TenantLimits() {}

  public TenantLimits(Integer maxConcurrentJobs, Integer maxDailyJobs, Integer requestsPerMinute) {
    this.maxConcurrentJobs = maxConcurrentJobs;
    this.maxDailyJobs = maxDailyJobs;
    this.requestsPerMinute = requestsPerMinute;
  }

  public Integer getMaxConcurrentJobs() {
    return maxConcurrentJobs;
  }

  public void setMaxConcurrentJobs(Integer maxConcurrentJobs) {
    this.maxConcurrentJobs = maxConcurrentJobs;
  }

  public Integer getMaxDailyJobs() {
    return maxDailyJobs;
  }

  public void setMaxDailyJobs(Integer maxDailyJobs) {
    this.maxDailyJobs = maxDailyJobs;
  }

  public Integer getRequestsPerMinute() {
    return requestsPerMinute;
  }

  public void setRequestsPerMinute(Integer requestsPerMinute) {
    this.requestsPerMinute = requestsPerMinute;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantLimits other
        && Objects.equals(maxConcurrentJobs, other.maxConcurrentJobs)
        && Objects.equals(maxDailyJobs, other.maxDailyJobs)
        && Objects.equals(requestsPerMinute, other.requestsPerMinute);
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxConcurrentJobs, maxDailyJobs, requestsPerMinute);
  }
}
