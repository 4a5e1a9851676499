package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.Map;
import java.util.Objects;

/**
 * Semantic comparison of quantity maps. The API server canonicalises quantities ("1000m" is stored
 * as "1"), so comparing text would see a change on every resync and write the object again.
 */
final class Quantities {

  private Quantities() {}

  static boolean equal(Map<String, Quantity> actual, Map<String, Quantity> desired) {
    var a = actual == null ? Map.<String, Quantity>of() : actual;
    var d = desired == null ? Map.<String, Quantity>of() : desired;
    if (!a.keySet().equals(d.keySet())) {
      return false;
    }
    return d.entrySet().stream()
        .allMatch(
            e ->
                a.get(e.getKey()).getNumericalAmount().compareTo(e.getValue().getNumericalAmount())
                    == 0);
  }

  /** The desired labels are all present on the actual object (others may have been added). */
  static boolean sameLabels(HasMetadata actual, HasMetadata desired) {
    var actualLabels = actual.getMetadata().getLabels();
    return desired.getMetadata().getLabels().entrySet().stream()
        .allMatch(
            e ->
                actualLabels != null && Objects.equals(actualLabels.get(e.getKey()), e.getValue()));
  }
}
