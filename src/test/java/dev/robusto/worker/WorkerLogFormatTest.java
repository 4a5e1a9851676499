package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.UUID;
import java.util.logging.Level;
import org.jboss.logging.MDC;
import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.Test;

class WorkerLogFormatTest {

  private static final UUID BATCH = UUID.fromString("00000000-0000-0000-0000-0000000000e1");

  @Test
  void aLineAboutATicketNamesTheWorkerItsTenantTheBatchAndTheTicketAndNothingElse()
      throws Exception {
    var config =
        new ObjectMapper()
            .readValue(
                "{\"batchId\": \"%s\", \"processor\": \"simulated\"}".formatted(BATCH),
                WorkerConfig.class);
    var format = new WorkerLogFormat("fin-de-mes-x7k2p", "acme", config);
    // As Worker's LOG.infof writes it.
    var record =
        new ExtLogRecord(
            Level.INFO,
            "ticket %s after attempt %d",
            ExtLogRecord.FormatStyle.PRINTF,
            Worker.class.getName());
    record.setParameters(new Object[] {"dead_lettered", 5});
    record.setLoggerName(Worker.class.getName());
    MDC.put(WorkerLogFormat.TICKET, "2026-11-0042");
    String line;
    try {
      line = format.format(record);
    } finally {
      MDC.remove(WorkerLogFormat.TICKET);
    }

    assertThat(line).endsWith(System.lineSeparator());
    assertThat(line.strip()).as("one line").doesNotContain(System.lineSeparator());
    var json = new ObjectMapper().readTree(line);
    assertThat(json.get("level").asText()).isEqualTo("INFO");
    assertThat(json.get("worker").asText()).isEqualTo("fin-de-mes-x7k2p");
    assertThat(json.get("tenant").asText()).isEqualTo("acme");
    assertThat(json.get("batch").asText()).isEqualTo(BATCH.toString());
    assertThat(json.get("ticket").asText()).isEqualTo("2026-11-0042");
    assertThat(json.get("message").asText()).isEqualTo("ticket dead_lettered after attempt 5");
    assertThat(json.get("timestamp").asText()).matches("\\d{4}-\\d{2}-\\d{2}T.*Z");

    MDC.remove(WorkerLogFormat.TICKET);
    assertThat(new ObjectMapper().readTree(format.format(record)).has("ticket"))
        .as("a line about no ticket")
        .isFalse();
  }
}
