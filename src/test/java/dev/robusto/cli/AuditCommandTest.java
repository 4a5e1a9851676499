package dev.robusto.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AuditCommandTest {

  @Test
  void aCsvFieldIsQuotedOnlyWhenASpreadsheetWouldSplitIt() {
    assertThat(AuditCommand.csv("AutomationBatch/tenant-acme/fin-de-mes"))
        .isEqualTo("AutomationBatch/tenant-acme/fin-de-mes");
    assertThat(AuditCommand.csv("a,b")).isEqualTo("\"a,b\"");
    assertThat(AuditCommand.csv("dice \"hola\"")).isEqualTo("\"dice \"\"hola\"\"\"");
    assertThat(AuditCommand.csv("dos\nlíneas")).isEqualTo("\"dos\nlíneas\"");
  }
}
