package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DatabaseRetryTest {

  @ParameterizedTest
  @CsvSource({
    "08006, true", // connection failure: PostgreSQL went away
    "08003, true", // the connection was closed
    "57P01, true", // terminated by an administrator (pg_terminate_backend)
    "57P03, true", // the database system is starting up
    "53300, true", // too many connections
    "40001, true", // serialization failure
    "55P03, true", // lock not available (lock_timeout)
    "42501, false", // insufficient privilege: never passes by itself
    "23505, false", // unique violation
    "22023, false", // invalid parameter (a function's own refusal)
  })
  void onlyFailuresThatPassAreRetried(String state, boolean retried) {
    assertThat(DatabaseRetry.isTransient(new SQLException("x", state))).isEqualTo(retried);
    assertThat(DatabaseRetry.isTransient(new SQLException("wrapped", null, error(state))))
        .as("found in the causes too")
        .isEqualTo(retried);
  }

  @Test
  void aCallThatFailsWhileTheDatabaseRestartsSucceedsOnceItIsBack() throws Exception {
    var calls = new AtomicInteger();
    var result =
        new DatabaseRetry(Duration.ofSeconds(10))
            .call(
                "claim",
                () -> {
                  if (calls.incrementAndGet() < 3) {
                    throw error("57P03");
                  }
                  return "claimed";
                });
    assertThat(result).isEqualTo("claimed");
    assertThat(calls).hasValue(3);
  }

  @Test
  void anErrorThatDoesNotPassFailsAtOnce() {
    var calls = new AtomicInteger();
    assertThatThrownBy(
            () ->
                new DatabaseRetry(Duration.ofSeconds(10))
                    .call(
                        "claim",
                        () -> {
                          calls.incrementAndGet();
                          throw error("42501");
                        }))
        .isInstanceOf(SQLException.class);
    assertThat(calls).hasValue(1);
  }

  @Test
  void anOutageLongerThanThePatienceEndsInTheError() {
    var calls = new AtomicInteger();
    assertThatThrownBy(
            () ->
                new DatabaseRetry(Duration.ofMillis(500))
                    .call(
                        "claim",
                        () -> {
                          calls.incrementAndGet();
                          throw error("08006");
                        }))
        .isInstanceOf(SQLException.class)
        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("08006"));
    assertThat(calls.get()).as("retried before giving up").isGreaterThan(1);
  }

  private static SQLException error(String state) {
    return new SQLException("failed", state);
  }
}
