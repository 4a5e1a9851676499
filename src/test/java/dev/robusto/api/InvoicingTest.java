package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
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

  @Test
  void anIdempotencyKeyHeaderIsTheTicketsId() {
    var data = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    var withoutId = new Invoicing.TicketRequest(null, "oxxo", null, data);
    assertThat(Invoicing.keyed(withoutId, "F-1").id())
        .as("it stands for a missing id")
        .isEqualTo("F-1");
    var withId = new Invoicing.TicketRequest("F-1", "oxxo", null, data);
    assertThat(Invoicing.keyed(withId, "F-1")).isSameAs(withId);
    assertThat(Invoicing.keyed(withId, null)).as("no header: the body's id").isSameAs(withId);
    assertThatThrownBy(() -> Invoicing.keyed(withoutId, " "))
        .as("a blank header is no id")
        .isInstanceOfSatisfying(
            jakarta.ws.rs.WebApplicationException.class,
            e ->
                assertThat(((KubeAuth.Problem) e.getResponse().getEntity()).field())
                    .isEqualTo("Idempotency-Key"));
    assertThatThrownBy(() -> Invoicing.keyed(withId, "F-2"))
        .as("a header that names another ticket")
        .isInstanceOfSatisfying(
            jakarta.ws.rs.WebApplicationException.class,
            e -> {
              assertThat(e.getResponse().getStatus()).isEqualTo(400);
              var problem = (KubeAuth.Problem) e.getResponse().getEntity();
              assertThat(problem.field()).isEqualTo("Idempotency-Key");
            });
    assertThatThrownBy(() -> Invoicing.keyed(withoutId, "A\u00f1o"))
        .as("HTTP headers carry no charset: a non-ASCII key could name another ticket")
        .isInstanceOfSatisfying(
            jakarta.ws.rs.WebApplicationException.class,
            e ->
                assertThat(((KubeAuth.Problem) e.getResponse().getEntity()).detail())
                    .contains("printable ASCII"));
  }

  @ParameterizedTest
  @CsvSource({
    "tickets, /tickets",
    "tickets/F-1, /tickets/{id}",
    "tickets/a/b/c, /tickets/{id}",
    "jobs, /jobs",
    "jobs/x, /other",
    "jobs/fin-de-mes/stream, /jobs/{id}/stream",
    "jobs/a/b/stream, /other",
    "jobs/fin-de-mes:pause, /jobs/{id}:pause",
    "jobs/fin-de-mes:redrive, /jobs/{id}:redrive",
    "jobs/fin-de-mes:borrar, /other",
    "bulk, /bulk",
    "migration-report, /migration-report",
    "merchants, /merchants",
    "health, /health",
    "metrics, /metrics",
    "metrics/x, /other",
    "'', /other",
    "anything-a-caller-sends, /other"
  })
  void endpointsAreABoundedSetWhateverThePathHolds(String resource, String endpoint) {
    assertThat(InvoicingCalls.endpoint(resource)).isEqualTo(endpoint);
  }

  @ParameterizedTest
  @CsvSource({"fin-de-mes", "ticket-0123456789abcdef0123", "bulk-ñandú"})
  void aCursorNamesTheLastJobOfItsOwnListingOnly(String name) {
    var cursor = Invoicing.encodeCursor("tenant-acme|Succeeded", name);
    assertThat(cursor).doesNotContain(name).matches("[A-Za-z0-9_-]+");
    assertThat(Invoicing.decodeCursor(cursor, "tenant-acme|Succeeded")).isEqualTo(name);
    for (var other : new String[] {"tenant-otro|Succeeded", "tenant-acme|", "tenant-acme|Failed"}) {
      assertThatThrownBy(() -> Invoicing.decodeCursor(cursor, other))
          .as(other)
          .isInstanceOf(jakarta.ws.rs.WebApplicationException.class);
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "2026-12-01 | 2027-06-30 | @1796083200 | Wed, 30 Jun 2027 00:00:00 GMT | </invoicing/v2/tickets/F-1>; rel=\"successor-version\"",
        "2026-12-01 | off        | @1796083200 |                               | </invoicing/v2/tickets/F-1>; rel=\"successor-version\"",
        "off        | 2027-06-30 |             | Wed, 30 Jun 2027 00:00:00 GMT | </invoicing/v2/tickets/F-1>; rel=\"successor-version\"",
        "off        | off        |             |                               |",
        "''         | ''         |             |                               |"
      })
  void v1AnnouncesItsEndAsTheChartSays(
      String deprecation,
      String sunset,
      String deprecationHeader,
      String sunsetHeader,
      String link) {
    var headers =
        InvoicingCalls.deprecationHeaders(
            InvoicingCalls.deprecationValue(java.util.Optional.ofNullable(deprecation))
                .orElse(null),
            InvoicingCalls.sunsetValue(java.util.Optional.ofNullable(sunset)).orElse(null),
            "tickets/F-1");
    assertThat(headers.get("Deprecation")).isEqualTo(deprecationHeader);
    assertThat(headers.get("Sunset")).isEqualTo(sunsetHeader);
    assertThat(headers.get("Link")).isEqualTo(link);
  }

  @ParameterizedTest
  @CsvSource({"GET, GET", "POST, POST", "DELETE, DELETE", "FOO1, OTHER", "get, OTHER"})
  void methodsAreABoundedSetWhateverTheClientSends(String sent, String counted) {
    assertThat(InvoicingCalls.method(sent)).isEqualTo(counted);
  }
}
