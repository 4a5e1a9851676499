package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InvoicingTest {

  @ParameterizedTest
  @CsvSource({
    "held, false, pendiente",
    "pending, false, pendiente",
    "pending, true, pausado",
    "held, true, pausado",
    "running, true, en_progreso",
    "succeeded, false, completado",
    "failed, false, fallido",
    "dead_lettered, false, fallido",
    "cancelled, false, fallido"
  })
  void aTicketsStateIsTheSeedsWord(String queueState, boolean suspended, String state) {
    assertThat(Invoicing.state(queueState, suspended)).isEqualTo(state);
  }

  @ParameterizedTest
  @CsvSource({
    "Pending, pendiente",
    "Queued, pendiente",
    "Throttled, pendiente",
    "Running, en_progreso",
    "Suspended, pausado",
    "Succeeded, completado",
    "PartiallyFailed, completado",
    "Failed, fallido"
  })
  void aJobsStateIsTheSeedsWord(String phase, String state) {
    assertThat(Invoicing.stateOfPhase(phase)).isEqualTo(state);
    assertThat(Invoicing.STATES).contains(state);
  }

  @ParameterizedTest
  @CsvSource({
    "tickets, /tickets",
    "tickets/F-1, /tickets/{id}",
    "tickets/a/b/c, /tickets/{id}",
    "jobs, /jobs",
    "jobs/x, /other",
    "bulk, /bulk",
    "migration-report, /migration-report",
    "'', /other",
    "anything-a-caller-sends, /other"
  })
  void endpointsAreABoundedSetWhateverThePathHolds(String resource, String endpoint) {
    assertThat(InvoicingCalls.endpoint(resource)).isEqualTo(endpoint);
  }

  @ParameterizedTest
  @CsvSource({"fin-de-mes", "ticket-0123456789abcdef0123", "bulk-ñandú"})
  void aCursorNamesTheLastJobOfThePage(String name) {
    var cursor = Invoicing.encodeCursor(name);
    assertThat(cursor).doesNotContain(name).matches("[A-Za-z0-9_-]+");
    assertThat(Invoicing.decodeCursor(cursor)).isEqualTo(name);
  }
}
