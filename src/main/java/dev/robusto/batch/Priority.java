package dev.robusto.batch;

import com.fasterxml.jackson.annotation.JsonValue;

/** Who goes first for the tenant's workers, in the platform's Spanish names. */
public enum Priority {
  BAJA,
  NORMAL,
  ALTA,
  URGENTE;

  @JsonValue
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The priority a batch row holds (its JSON value). */
  public static Priority of(String value) {
    return valueOf(value.toUpperCase(java.util.Locale.ROOT));
  }

  /** Lower runs first: urgente 0 ... baja 3, as automation_items.priority_rank. */
  public int rank() {
    return URGENTE.ordinal() - ordinal();
  }
}
