package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A failed reconcile of any kind reads the same in Ready: the kind of failure, then what failed.
 */
class ConditionsTest {

  private static final List<Condition> HEALTHY =
      List.of(condition("Ready", "True", "Running"), condition("Complete", "False", "InProgress"));

  @Test
  void aReconcileRetriedWithBackoffIsNotStalledWhateverTheLastOneFound() {
    var stalled =
        List.of(
            condition("Ready", "False", "TenantNotFound"),
            condition("Stalled", "True", "TenantNotFound"));
    var conditions =
        Conditions.notReady(stalled, 2L, new SQLException("Connection refused.", "08001"));
    assertThat(conditions).extracting(Condition::getType).containsExactly("Ready");
    assertThat(conditions.get(0).getReason()).isEqualTo("DatabaseUnavailable");
  }

  @Test
  void aDatabaseOutageShowsInReadyAndLeavesTheOtherConditionsAlone() {
    var outage = new SQLException("Connection to localhost:5432 refused.", "08001");
    var conditions = Conditions.notReady(HEALTHY, 4L, new IllegalStateException("wrapped", outage));
    assertThat(conditions).hasSize(2);
    assertThat(conditions.get(0))
        .satisfies(c -> assertThat(c.getType()).isEqualTo("Ready"))
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("False"))
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("DatabaseUnavailable"))
        .satisfies(
            c ->
                assertThat(c.getMessage())
                    .as("what failed, not where the database is")
                    .isEqualTo(
                        "Cannot reconcile (retried with backoff): PostgreSQL cannot be reached"
                            + " (SQLSTATE 08001)"));
    assertThat(Conditions.reason(conditions, "Complete")).isEqualTo("InProgress");
  }

  @Test
  void eachKindOfFailureHasItsReason() {
    assertThat(ReconcileErrors.reason(new SQLException("deadlock", "40P01")))
        .isEqualTo("DatabaseError");
    assertThat(ReconcileErrors.reason(new KubernetesClientException("x", 500, null)))
        .isEqualTo("ApiServerError");
    assertThat(ReconcileErrors.reason(new RuntimeException(new SocketTimeoutException())))
        .isEqualTo("ApiTimeout");
    assertThat(ReconcileErrors.reason(new IllegalStateException("Deployment x is not ours")))
        .isEqualTo("ReconcileError");
  }

  @Test
  void onlyTheOperatorsOwnRefusalsAreQuotedOthersAreNamedByKind() {
    assertThat(ReconcileErrors.retrying(new IllegalStateException("Rename or delete x.")))
        .endsWith(": Rename or delete x.");
    assertThat(ReconcileErrors.retrying(new RuntimeException("token=abc123")))
        .endsWith(": RuntimeException")
        .doesNotContain("abc123");
    assertThat(
            ReconcileErrors.retrying(
                new IllegalStateException(new RuntimeException("password=hunter2"))))
        .as("a library's wrapper quotes its cause: named by kind")
        .endsWith(": IllegalStateException")
        .doesNotContain("hunter2");
    assertThat(ReconcileErrors.retrying(new SQLException("duplicate key", "23505")))
        .isEqualTo(
            "Cannot reconcile (retried with backoff): PostgreSQL refused the operation"
                + " (SQLSTATE 23505)");
  }

  private static Condition condition(String type, String status, String reason) {
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(reason)
        .withMessage(reason)
        .withLastTransitionTime("2026-12-03T10:00:00Z")
        .build();
  }
}
