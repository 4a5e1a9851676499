package dev.robusto.merchant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A merchant portal tickets are invoiced through, in a tenant's namespace: its URLs, how hard it
 * may be called, and a Secret with two credentials so one can rotate with no failed call. A batch's
 * {@code processor.http.merchant} names it.
 */
@Group("robusto.dev")
@Version("v1alpha1")
@ShortNames("merch")
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Credential", jsonPath = ".status.credentialInUse")
@AdditionalPrinterColumn(name = "Circuit", jsonPath = ".status.circuit")
@AdditionalPrinterColumn(name = "Success", jsonPath = ".status.lastHour.successRate")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class Merchant extends CustomResource<MerchantSpec, MerchantStatus> implements Namespaced {

  @Override
  @JsonPropertyDescription(
      "The portal: its URLs, captcha, timeout, rate limit, circuit breaker and credentials.")
  public MerchantSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "What the workers saw of the portal: the credential in use, its circuits, its success rate"
          + " over the last hour.")
  public MerchantStatus getStatus() {
    return super.getStatus();
  }
}
