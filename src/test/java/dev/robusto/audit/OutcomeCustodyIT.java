package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestAuditKeys;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The chain of custody of ticket outcomes against a real PostgreSQL: every finished ticket is
 * chained once, and an outcome changed or removed afterwards, by the operator's own login or a
 * superuser, is named; outcomes that go with their batch or by retention are not.
 */
@Tag("db")
class OutcomeCustodyIT {

  private static final String DB = "custody_it";
  private static final UUID ACME_BATCH = UUID.fromString("00000000-0000-0000-0000-00000000ac01");
  private static final UUID OTHER_ACME_BATCH =
      UUID.fromString("00000000-0000-0000-0000-00000000ac02");
  private static final UUID BETA_BATCH = UUID.fromString("00000000-0000-0000-0000-00000000be01");
  private static final String TRIGGERS_OFF = "SET session_replication_role = replica";

  private DataSource operator;
  private AuditLog log;
  private OutcomeCustody custody;

  @BeforeEach
  void freshDatabase() throws SQLException {
    operator = Postgres.get().migratedDatabase(DB);
    log = new AuditLog(operator, TestAuditKeys.KEYS);
    custody =
        new OutcomeCustody(
            operator,
            new dev.robusto.tenant.PayloadKeys(
                operator,
                null,
                new dev.robusto.operator.Leadership(false, "robusto"),
                log,
                java.util.Optional.empty(),
                java.util.Optional.empty(),
                Duration.ofMinutes(10),
                Duration.ofMinutes(10)),
            log,
            null,
            Duration.ofDays(30));
    for (var tenant : new String[] {"acme", "beta"}) {
      run(
          ("INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
                  + " max_daily_jobs, requests_per_minute) VALUES ('%s', 'startup', 'tenant-%1$s',"
                  + " 3, 100, 600)")
              .formatted(tenant));
    }
    batch(ACME_BATCH, "acme");
    batch(OTHER_ACME_BATCH, "acme");
    batch(BETA_BATCH, "beta");
    // Tickets 1-10 of acme's first batch (3 failed, 5 dead-lettered), 11-14 of its second, 15-20
    // of beta's, one finished 40 days ago.
    for (int i = 1; i <= 20; i++) {
      var batch = i <= 10 ? ACME_BATCH : i <= 14 ? OTHER_ACME_BATCH : BETA_BATCH;
      outcome(
          i,
          batch,
          i == 3 ? "failed" : i == 5 ? "dead_lettered" : "succeeded",
          i == 20 ? "now() - interval '40 days'" : "now()");
    }
  }

  @AfterEach
  void close() {
    log.close();
  }

  @Test
  void everyOutcomeIsChainedOnceInARoundPerTenantAndVerifies() throws Exception {
    assertThat(custody.chain()).isEqualTo(20);
    assertThat(custody.chain()).as("a second round finds nothing new").isZero();
    outcome(21, BETA_BATCH, "succeeded", "now()");
    assertThat(custody.chain()).isEqualTo(1);

    assertThat(
            list(
                "SELECT resource || ' ' || tenant_id FROM audit_log WHERE actor = '"
                    + OutcomeCustody.ACTOR
                    + "' ORDER BY seq"))
        .containsExactly(
            "TicketOutcomes/acme/1-14 acme",
            "TicketOutcomes/beta/15-20 beta",
            "TicketOutcomes/beta/21-21 beta");
    assertThat(one("SELECT count(*) FROM automation_item_outcomes WHERE custody_seq IS NULL"))
        .isEqualTo("0");

    var verification = custody.verify();
    assertThat(verification.intact()).as(verification.problem()).isTrue();
    assertThat(verification.auditRows()).isEqualTo(3);
    assertThat(verification.outcomes()).isEqualTo(21);
    try (var c = operator.getConnection()) {
      assertThat(AuditVerifier.verify(c, TestAuditKeys.KEYS, null).intact()).isTrue();
    }
  }

  @Test
  void anOutcomeChangedByTheOperatorsOwnLoginIsNamed() throws Exception {
    custody.chain();
    // The operator's login may update outcomes (a redrive does), so it could try to turn a failure
    // into a success after the fact.
    run("UPDATE automation_item_outcomes SET state = 'succeeded' WHERE item_id = 3");
    var verification = custody.verify();
    assertThat(verification.intact()).isFalse();
    assertThat(verification.firstBrokenSeq()).isEqualTo(acmeRound());
    assertThat(verification.problem())
        .isEqualTo(
            "the outcome of ticket 3 (audit row %d) was changed after it was chained"
                .formatted(acmeRound()));
  }

  @Test
  void aRedriveIsTheOneChangeAllowedAndIsChainedAgain() throws Exception {
    custody.chain();
    new dev.robusto.queue.WorkQueue(operator).redrive(ACME_BATCH, 1);
    assertThat(one("SELECT state FROM automation_item_outcomes WHERE item_id = 5"))
        .isEqualTo("redriven");
    assertThat(custody.verify().intact()).as("before the next round").isTrue();
    assertThat(custody.chain()).as("the redriven dead letter, chained again").isEqualTo(1);
    assertThat(custody.verify().intact()).isTrue();

    // Turned back into a dead letter (so that another redrive bills it again), and chained anew:
    // the custody hash of its redrive no longer matches anything it may have become.
    run(
        "UPDATE automation_item_outcomes SET state = 'dead_lettered', custody_seq = NULL"
            + " WHERE item_id = 5");
    assertThat(custody.chain()).isEqualTo(1);
    var verification = custody.verify();
    assertThat(verification.intact()).isFalse();
    assertThat(verification.problem()).startsWith("the outcome of ticket 5 (audit row ");
  }

  @Test
  void anOutcomeRemovedWhileItsBatchRemainsIsNamed() throws Exception {
    custody.chain();
    run("DELETE FROM automation_item_outcomes WHERE item_id = 7");
    var verification = custody.verify();
    assertThat(verification.firstBrokenSeq()).isEqualTo(acmeRound());
    assertThat(verification.problem())
        .isEqualTo(
            "the outcome of ticket 7 (audit row %d) was removed while its batch remains"
                .formatted(acmeRound()));
  }

  @Test
  void outcomesGoneWithTheirBatchOrByRetentionAreCountedNotFlagged() throws Exception {
    custody.chain();
    run("DELETE FROM automation_batches WHERE batch_id = '" + OTHER_ACME_BATCH + "'");
    run("DELETE FROM automation_item_outcomes WHERE item_id = 20"); // finished 40 days ago
    var verification = custody.verify();
    assertThat(verification.intact()).as(verification.problem()).isTrue();
    assertThat(verification.removed()).isEqualTo(5);
  }

  @Test
  void aSuperuserWhoRewritesOutcomeAndCustodyHashIsFoundByTheSealedDigest() throws Exception {
    custody.chain();
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("UPDATE automation_item_outcomes SET state = 'succeeded' WHERE item_id = 3");
      // The outcome's hash as the verifier computes it, written over the chained one.
      try (var rs =
          s.executeQuery(
              "SELECT item_id, batch_id, tenant_id, idempotency_key, state, attempts, last_error,"
                  + " created_at, finished_at, payload::text FROM automation_item_outcomes"
                  + " WHERE item_id = 3")) {
        rs.next();
        var forged = OutcomeCustody.hash(rs, 1, AuditCanonical.sha256());
        s.execute("UPDATE outcome_custody SET hash = '" + forged + "' WHERE item_id = 3");
      }
    }
    var verification = custody.verify();
    assertThat(verification.firstBrokenSeq()).isEqualTo(acmeRound());
    assertThat(verification.problem())
        .isEqualTo(
            "the custody hashes of audit row %d were changed or removed".formatted(acmeRound()));
  }

  @Test
  void aSuperuserWhoPassesARemovalOffAsRetentionIsFoundByTheSealedDigest() throws Exception {
    custody.chain();
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute(
          "UPDATE outcome_custody SET finished_at = now() - interval '400 days' WHERE item_id = 7");
      s.execute("DELETE FROM automation_item_outcomes WHERE item_id = 7");
    }
    var verification = custody.verify();
    assertThat(verification.firstBrokenSeq()).isEqualTo(acmeRound());
    assertThat(verification.problem())
        .isEqualTo(
            "the custody hashes of audit row %d were changed or removed".formatted(acmeRound()));
  }

  @Test
  void theOperatorsLoginCanOnlyAppendCustodyHashes() throws Exception {
    custody.chain();
    for (var attack :
        new String[] {
          "UPDATE outcome_custody SET hash = repeat('0', 64)",
          "DELETE FROM outcome_custody",
          "TRUNCATE outcome_custody",
          "ALTER TABLE outcome_custody DISABLE TRIGGER USER"
        }) {
      assertThatThrownBy(() -> run(attack))
          .as(attack)
          .isInstanceOf(SQLException.class)
          .extracting(e -> ((SQLException) e).getSQLState())
          .isEqualTo("42501");
    }
  }

  private long acmeRound() throws SQLException {
    return Long.parseLong(
        one("SELECT seq FROM audit_log WHERE resource = 'TicketOutcomes/acme/1-14'"));
  }

  private void batch(UUID id, String tenant) throws SQLException {
    run(
        "INSERT INTO automation_batches (batch_id, tenant_id, namespace, name) VALUES ('%s', '%s',"
                .formatted(id, tenant)
            + " 'tenant-%s', 'lote-%s')".formatted(tenant, id.toString().substring(32)));
  }

  private void outcome(int item, UUID batch, String state, String finishedAt) throws SQLException {
    var tenant = batch.equals(BETA_BATCH) ? "beta" : "acme";
    run(
        ("INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,"
                + " payload, state, attempts, last_error, created_at, finished_at) VALUES (%d, '%s',"
                + " '%s', 'T-%1$d', '{\"rfc\": \"XAXX010101000\", \"total\": %1$d}', '%s', 1, %s,"
                + " %s, %6$s)")
            .formatted(
                item,
                batch,
                tenant,
                state,
                state.equals("succeeded") ? "NULL" : "'HTTP 422'",
                finishedAt));
  }

  private void run(String sql) throws SQLException {
    try (var c = operator.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private String one(String sql) throws SQLException {
    return list(sql).get(0);
  }

  private java.util.List<String> list(String sql) throws SQLException {
    var out = new java.util.ArrayList<String>();
    try (var c = operator.getConnection();
        var rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
