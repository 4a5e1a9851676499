package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The checkpointer's settings, as the chart passes them. */
class AuditCheckpointerTest {

  @Test
  void durationsReadAsTheChartWritesThemAndBadOnesSayHow() {
    assertThat(AuditCheckpointer.duration("15m")).isEqualTo(Duration.ofMinutes(15));
    assertThat(AuditCheckpointer.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(AuditCheckpointer.duration("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(AuditCheckpointer.duration("PT5M")).isEqualTo(Duration.ofMinutes(5));
    for (var bad : new String[] {"0s", "-5m", "soon", "15"}) {
      assertThatThrownBy(() -> AuditCheckpointer.duration(bad))
          .as(bad)
          .hasMessageContaining("write it as 30s, 15m or 1h");
    }
  }
}
