package dev.robusto.batch;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Tickets to turn into invoices, in a tenant's namespace: queued in PostgreSQL, admitted against
 * the tenant's daily quota and processed by worker Jobs within its concurrency cap.
 */
@Group("robusto.dev")
@Version("v1alpha1")
@ShortNames("ab")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(
    name = "Total",
    jsonPath = ".status.counts.total",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Succeeded",
    jsonPath = ".status.counts.succeeded",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Failed",
    jsonPath = ".status.counts.failed",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Dead",
    jsonPath = ".status.counts.deadLettered",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Pending",
    jsonPath = ".status.counts.pending",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Workers",
    jsonPath = ".status.workers",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class AutomationBatch extends CustomResource<AutomationBatchSpec, AutomationBatchStatus>
    implements Namespaced {

  /** Labels the operator puts on the Jobs (and so the pods) of a batch. */
  public static final String BATCH_LABEL = "robusto.dev/batch";

  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  public static final String WORKER_COMPONENT = "batch-worker";

  @Override
  @JsonPropertyDescription(
      "The tickets, how each is processed, with what priority, parallelism and retries.")
  public AutomationBatchSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "Where the batch stands: its phase, tickets by state, its worker Jobs and conditions.")
  public AutomationBatchStatus getStatus() {
    return super.getStatus();
  }
}
