package dev.robusto.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PromqlConfinementTest {

  private static String confine(String query) {
    return PromqlConfinement.confine(query, "namespace", "tenant-a");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "up | up{namespace=\"tenant-a\"}",
        "up{} | up{namespace=\"tenant-a\"}",
        "up{job=\"x\"} | up{namespace=\"tenant-a\",job=\"x\"}",
        "{__name__=~\".+\"} | {namespace=\"tenant-a\",__name__=~\".+\"}",
        "rate(http_errors_total[5m]) | rate(http_errors_total{namespace=\"tenant-a\"}[5m])",
        "sum by (pod) (rate(x[1m])) | sum by (pod) (rate(x{namespace=\"tenant-a\"}[1m]))",
        "SUM WITHOUT (pod) (x) | SUM WITHOUT (pod) (x{namespace=\"tenant-a\"})",
        "sum(x) by (namespace) | sum(x{namespace=\"tenant-a\"}) by (namespace)",
        "a / on (pod) group_left (node) b"
            + " | a{namespace=\"tenant-a\"} / on (pod) group_left (node) b{namespace=\"tenant-a\"}",
        "x > bool 0.2 | x{namespace=\"tenant-a\"} > bool 0.2",
        "x offset 5m @ start() | x{namespace=\"tenant-a\"} offset 5m @ start()",
        "max_over_time(x[30m:1m]) | max_over_time(x{namespace=\"tenant-a\"}[30m:1m])",
        "histogram_quantile(0.95, sum by (le) (rate(d_bucket{rev=\"2\"}[5m])))"
            + " | histogram_quantile(0.95, sum by (le) (rate(d_bucket{namespace=\"tenant-a\","
            + "rev=\"2\"}[5m])))",
        "x and y or z unless w | x{namespace=\"tenant-a\"} and y{namespace=\"tenant-a\"} or"
            + " z{namespace=\"tenant-a\"} unless w{namespace=\"tenant-a\"}",
        "count_values(\"v\", x) | count_values(\"v\", x{namespace=\"tenant-a\"})",
        "job:errors:ratio5m | job:errors:ratio5m{namespace=\"tenant-a\"}",
        "1e-3 * x | 1e-3 * x{namespace=\"tenant-a\"}",
        "sum(by) | sum(by{namespace=\"tenant-a\"})",
        "a * on (x) group_left b | a{namespace=\"tenant-a\"} * on (x) group_left b{namespace=\"tenant-a\"}",
      })
  void everySelectorIsConfinedAndTheRestIsKept(String query, String confined) {
    assertThat(confine(query)).isEqualTo(confined);
  }

  @Test
  void aTenantsOwnNamespaceMatcherCannotWidenIt() {
    // Both matchers apply: the series must be in tenant-a and match .*, so only tenant-a's.
    assertThat(confine("up{namespace=~\".*\"}"))
        .isEqualTo("up{namespace=\"tenant-a\",namespace=~\".*\"}");
    assertThat(confine("up{namespace=\"tenant-b\"}"))
        .isEqualTo("up{namespace=\"tenant-a\",namespace=\"tenant-b\"}");
  }

  @Test
  void stringsThatLookLikeSelectorsAreLeftAsStrings() {
    assertThat(confine("label_replace(x, \"dst\", \"} or other{\", \"src\", \"(.*)\")"))
        .isEqualTo(
            "label_replace(x{namespace=\"tenant-a\"}, \"dst\", \"} or other{\", \"src\","
                + " \"(.*)\")");
    assertThat(confine("x{a=\"\\\"}\"}")).isEqualTo("x{namespace=\"tenant-a\",a=\"\\\"}\"}");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "up # a comment",
        "up{a=\"b\"",
        "up{a=\"b}",
        "x[5m",
        "x[5m] or y{a=~\"é\"} ; drop",
        "sum by (pod{x=\"y\"}) (x)",
        "x[1m+{y}]",
        "x\\y",
      })
  void aQueryItCannotReadIsRefusedNeverSent(String query) {
    assertThatThrownBy(() -> confine(query))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cannot read ");
  }

  @Test
  void commentsAndControlCharactersInsideSelectorsAreRefused() {
    // Prometheus reads '#' inside braces as a comment to the end of the line: the quote after it
    // is not a string, so the selector ends at the next line's brace.
    for (var query :
        new String[] {
          "x{a=\"b\" # \"\n} or on() y{namespace=\"tenant-b\" # \"\n}",
          "x{a=\"line\nbreak\"}",
          "x{a=\"b\"\t}",
        }) {
      assertThatThrownBy(() -> confine(query))
          .as(query)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("cannot read ");
    }
  }

  @Test
  void theNamespaceMustBeANamespaceName() {
    assertThatThrownBy(() -> PromqlConfinement.confine("up", "namespace", "a\"} or up{b=\""))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
