package dev.robusto.operator;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Counter totals from rows that only grow (a tenant's daily counts): each round adds how much every
 * row grew since the round before, so a total rises by exactly what the database committed. The
 * first round only takes the baseline (a counter starts at 0 with its process, as Prometheus
 * expects); a row first seen later (a new day, a new tenant) counts in full; rows that shrink (an
 * erasure, retention) add nothing, so a total never goes down.
 */
final class MonotonicTotals<K> {

  private final Map<K, Long> seen = new HashMap<>();
  private final Map<List<String>, Double> totals = new TreeMap<>(MonotonicTotals::compareLabels);
  private boolean baselined;

  /** Row {@code row} now holds {@code value}; its growth adds to the series {@code labels}. */
  void observe(K row, List<String> labels, long value) {
    var before = seen.put(row, value);
    long grown = before == null ? (baselined ? value : 0) : Math.max(0, value - before);
    totals.merge(labels, (double) grown, Double::sum);
  }

  /** Ends a round, forgetting the rows that can no longer change. */
  void endRound(Predicate<K> stillChanging) {
    baselined = true;
    seen.keySet().removeIf(stillChanging.negate());
  }

  /** Each series' total so far, by its label values. */
  Map<List<String>, Double> totals() {
    var copy = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    copy.putAll(totals);
    return copy;
  }

  /** An order for label value lists, so series come out sorted. */
  static int compareLabels(List<String> a, List<String> b) {
    return String.join("\u0000", a).compareTo(String.join("\u0000", b));
  }
}
