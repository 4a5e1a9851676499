package dev.robusto.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.Prometheus;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A tenant's queries against a real Prometheus holding another tenant's series: confined queries
 * see only their namespace, and a query the confinement misreads is caught by Prometheus's own
 * parse before it runs.
 */
@Tag("cluster")
class PromqlConfinementIT {

  private final Prometheus prometheus = Prometheus.get();
  private final PrometheusQueries queries =
      new PrometheusQueries(Optional.of(prometheus.url()), "namespace");

  @Test
  void aTenantsQuerySeesItsOwnSeriesAndNoOneElses() throws Exception {
    prometheus.set("ventas{namespace=\"tenant-a\"}", 1);
    prometheus.set("secreto{namespace=\"tenant-b\"}", 42);
    // A series named like a PromQL keyword: the lexer takes it for the keyword.
    prometheus.set("offset{namespace=\"tenant-b\"}", 7);
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(queries.query("max(secreto)")).as("the series exist").hasValue(42);
              assertThat(queries.query("max(offset)")).hasValue(7);
            });

    assertThat(queries.queryInNamespace("max(ventas)", "tenant-a")).hasValue(1);
    assertThat(queries.queryInNamespace("max(secreto)", "tenant-a"))
        .as("another namespace's series are not seen")
        .isEqualTo(OptionalDouble.empty());
    assertThat(queries.queryInNamespace("max(secreto{namespace=\"tenant-b\"})", "tenant-a"))
        .isEqualTo(OptionalDouble.empty());
    assertThatThrownBy(() -> queries.queryInNamespace("max(offset)", "tenant-a"))
        .as("Prometheus parses a selector the lexer missed: never run")
        .isInstanceOf(MetricUnavailableException.class)
        .hasMessage("The query cannot be confined to namespace tenant-a; it was not sent.");
    assertThatThrownBy(
            () ->
                queries.queryInNamespace(
                    "sum(ventas{a=\"b\" # \"\n} or on() secreto{namespace='tenant-b' # \"\n})",
                    "tenant-a"))
        .as("a comment inside braces")
        .isInstanceOf(MetricUnavailableException.class)
        .hasMessageStartingWith("The query cannot be confined to namespace tenant-a");
  }
}
