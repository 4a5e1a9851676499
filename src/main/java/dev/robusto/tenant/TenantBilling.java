package dev.robusto.tenant;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;

/** A tenant's prices. Money is a decimal string, never a float: 1.5 is "1.50", not 1.4999. */
public class TenantBilling {

  /** Decimal places of a price, as PostgreSQL stores it (numeric(12, 4)). */
  static final int PRICE_SCALE = 4;

  @Pattern("^[0-9]{1,8}([.][0-9]{1,4})?$")
  @JsonPropertyDescription(
      "Price of one admitted ticket in MXN, a decimal string with at most 4 decimals, e.g."
          + " \"1.25\". Default: the tier's price (Helm value tiers.<tier>.pricePerTicketMxn).")
  private String pricePerTicketMxn;

  public String getPricePerTicketMxn() {
    return pricePerTicketMxn;
  }

  public void setPricePerTicketMxn(String pricePerTicketMxn) {
    this.pricePerTicketMxn = pricePerTicketMxn;
  }
}
