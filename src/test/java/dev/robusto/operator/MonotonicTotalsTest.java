package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MonotonicTotalsTest {

  private final MonotonicTotals<String> totals = new MonotonicTotals<>();

  @Test
  void countsWhatRowsGrewByAfterTheBaselineAndNeverGoesDown() {
    totals.observe("acme/12-01", List.of("succeeded"), 40);
    totals.endRound(row -> true);
    assertThat(totals.totals())
        .as("the baseline")
        .containsExactly(Map.entry(List.of("succeeded"), 0.0));

    totals.observe("acme/12-01", List.of("succeeded"), 45);
    totals.observe("litro/12-01", List.of("succeeded"), 3);
    totals.observe("acme/12-01-failed", List.of("failed"), 2);
    totals.endRound(row -> true);
    assertThat(totals.totals())
        .as("growth, and rows first seen after the baseline in full")
        .containsExactly(Map.entry(List.of("failed"), 2.0), Map.entry(List.of("succeeded"), 8.0));

    totals.observe("acme/12-01", List.of("succeeded"), 10);
    totals.endRound(row -> !row.startsWith("acme/12-01"));
    assertThat(totals.totals().get(List.of("succeeded"))).as("a row that shrank").isEqualTo(8.0);

    totals.observe("acme/12-01", List.of("succeeded"), 12);
    totals.endRound(row -> true);
    assertThat(totals.totals().get(List.of("succeeded")))
        .as("a forgotten row seen again counts in full")
        .isEqualTo(20.0);
  }
}
