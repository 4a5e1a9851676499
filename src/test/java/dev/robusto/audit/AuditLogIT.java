package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.robusto.audit.AuditSealing.Pass;
import dev.robusto.operator.Leadership;
import dev.robusto.testing.Postgres;
import dev.robusto.testing.TestAuditKeys;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The audit trail against a real PostgreSQL: append-only, chained, and tampering is found. */
@Tag("db")
class AuditLogIT {

  private static final String DB = "audit_it";
  private static final AuditKeys KEYS = TestAuditKeys.KEYS;
  // What a superuser does to change rows behind the triggers and foreign keys: for this session,
  // none of them fires.
  private static final String TRIGGERS_OFF = "SET session_replication_role = replica";
  private static final String TRIGGERS_ON = "SET session_replication_role = DEFAULT";
  private DataSource operator;

  @BeforeEach
  void freshDatabase() {
    operator = Postgres.get().migratedDatabase(DB);
  }

  @Test
  void concurrentAppendsFormOneUnbrokenChain() throws Exception {
    var pool = Executors.newFixedThreadPool(16);
    try (var log = new AuditLog(operator, KEYS)) {
      var futures =
          IntStream.range(0, 2_000).mapToObj(i -> pool.submit(() -> log.append(entry(i)))).toList();
      for (var f : futures) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    var result = verify(null);
    assertThat(result.intact()).as(result.problem()).isTrue();
    assertThat(result.rows()).isEqualTo(2_000);
    try (var c = operator.getConnection();
        var rs =
            c.createStatement()
                .executeQuery("SELECT count(DISTINCT prev_hash), max(seq) FROM audit_log")) {
      rs.next();
      assertThat(rs.getLong(1))
          .as("no two rows share a parent: the chain never forks")
          .isEqualTo(2_000);
      assertThat(rs.getLong(2)).isEqualTo(2_000);
    }
  }

  /**
   * The operator's own role (V20) reads and appends, nothing more: what it would need to rewrite
   * the trail (change rows, switch off the triggers that refuse it, replace the function that
   * computes the chain, take the table over) is refused by PostgreSQL's privileges.
   */
  @Test
  void theOperatorsRoleCanOnlyReadAndAppend() throws Exception {
    append(3);
    try (var c = operator.getConnection();
        var s = c.createStatement()) {
      for (var attack :
          List.of(
              "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
              "DELETE FROM audit_log WHERE seq = 2",
              "TRUNCATE audit_log",
              "ALTER TABLE audit_log DISABLE TRIGGER USER",
              "DROP TRIGGER audit_refuse_change ON audit_log",
              "ALTER TABLE audit_log OWNER TO " + Postgres.OPERATOR_ROLE,
              "CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql"
                  + " AS $$ BEGIN RETURN NEW; END $$",
              "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql"
                  + " AS $$ BEGIN RETURN NULL; END $$",
              "DROP TABLE audit_log",
              "DELETE FROM flyway_schema_history",
              "DELETE FROM audit_seals WHERE seq = 2",
              "UPDATE audit_seals SET mac = repeat('0', 64)",
              "ALTER TABLE audit_seals DISABLE TRIGGER USER",
              "SET session_replication_role = replica",
              "SET ROLE " + Postgres.OWNER_ROLE)) {
        assertThatThrownBy(() -> s.execute(attack))
            .as(attack)
            .isInstanceOf(SQLException.class)
            .satisfies(
                e ->
                    assertThat(((SQLException) e).getSQLState())
                        .as("%s: %s", attack, e.getMessage())
                        .isEqualTo("42501"));
      }
    }
    var result = verify(null);
    assertThat(result.intact()).as(result.problem()).isTrue();
    assertThat(result.rows()).isEqualTo(3);
  }

  @Test
  void evenTheSchemaOwnerIsRefusedUpdateDeleteAndTruncateByTheTriggers() throws Exception {
    append(3);
    try (var c = Postgres.get().owner(DB).getConnection();
        var s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
          .hasMessageContaining("audit_log is append-only: UPDATE is not allowed");
      assertThatThrownBy(() -> s.execute("DELETE FROM audit_log WHERE seq = 2"))
          .hasMessageContaining("audit_log is append-only: DELETE is not allowed");
      assertThatThrownBy(() -> s.execute("TRUNCATE audit_log"))
          .hasMessageContaining("cannot truncate a table referenced in a foreign key");
      assertThatThrownBy(() -> s.execute("TRUNCATE audit_log, audit_seals, outcome_custody"))
          .hasMessageContaining("is append-only: TRUNCATE is not allowed");
      assertThatThrownBy(() -> s.execute("DELETE FROM audit_seals"))
          .hasMessageContaining("audit_seals is append-only: DELETE is not allowed");
    }
    assertThat(verify(null).rows()).isEqualTo(3);
  }

  @Test
  void aRowAlteredWithTriggersDisabledIsReportedAtItsPosition() throws Exception {
    append(100);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("UPDATE audit_log SET resource = 'ResourceQuota/tenant-x/forged' WHERE seq = 37");
      s.execute(TRIGGERS_ON);
    }
    var result = verify(null);
    assertThat(result.intact()).isFalse();
    assertThat(result.firstBrokenSeq()).isEqualTo(37L);
    assertThat(result.problem()).contains("row 37 was altered");
  }

  @Test
  void aBreakNearTheStartOfALongChainStopsTheReadAndLeavesTheConnectionUsable() throws Exception {
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      // Far more than the socket buffers hold, so the server is still sending when the walk stops.
      s.execute(
          "INSERT INTO audit_log (actor, action, resource, tenant_id, before_hash, after_hash)"
              + " SELECT 'robusto-operator/tenant', 'update', 'Tenant/t-' || g, 't-' || g,"
              + " md5(g::text), md5((g + 1)::text) FROM generate_series(1, 50000) g");
      s.execute(TRIGGERS_OFF);
      s.execute("UPDATE audit_log SET actor = 'kube:mallory' WHERE seq = 5");
      s.execute(TRIGGERS_ON);
    }
    try (Connection c = operator.getConnection()) {
      for (int walk = 1; walk <= 2; walk++) {
        var result = AuditVerifier.verify(c, AuditKeys.NONE, null);
        assertThat(result.firstBrokenSeq()).as("walk %d", walk).isEqualTo(5L);
        assertThat(result.rows()).isLessThan(50_000);
      }
      try (var rs = c.createStatement().executeQuery("SELECT count(*) FROM audit_log")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(50_000);
      }
    }
  }

  @Test
  void aColumnWhoseTypeWasChangedFailsTheWalkLoudlyAndLeavesTheConnectionUsable() throws Exception {
    append(5);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute("ALTER TABLE audit_log ALTER COLUMN at TYPE date");
    }
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        java.time.Duration.ofSeconds(30),
        () -> {
          try (Connection c = operator.getConnection()) {
            assertThatThrownBy(() -> AuditVerifier.verify(c, KEYS, null))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("at is 4 bytes, not 8")
                .hasMessageContaining("not the types the chain was written with");
            try (var rs = c.createStatement().executeQuery("SELECT count(*) FROM audit_log")) {
              assertThat(rs.next()).isTrue();
              assertThat(rs.getLong(1)).isEqualTo(5);
            }
          }
        });
  }

  @Test
  void aSecondRowAtASeqIsFoundOnceItsPrimaryKeyIsDropped() throws Exception {
    append(5);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey CASCADE");
      s.execute(TRIGGERS_OFF);
      s.execute(
          "INSERT INTO audit_log (seq, at, actor, action, resource, tenant_id, before_hash,"
              + " after_hash, prev_hash, hash) SELECT seq, at, 'kube:mallory', action, resource,"
              + " tenant_id, before_hash, after_hash, prev_hash, md5(hash) FROM audit_log"
              + " WHERE seq = 3");
      s.execute(TRIGGERS_ON);
    }
    for (var keys : List.of(KEYS, AuditKeys.NONE)) {
      var result = verify(keys, null);
      assertThat(result.intact()).as("with %s", keys).isFalse();
      assertThat(result.firstBrokenSeq()).isEqualTo(3L);
      assertThat(result.problem()).contains("row 3 does not belong in the chain");
    }
  }

  @Test
  void aDeletedRowIsReportedAsMissing() throws Exception {
    append(20);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("DELETE FROM audit_log WHERE seq = 12");
      s.execute(TRIGGERS_ON);
    }
    var result = verify(null);
    assertThat(result.firstBrokenSeq()).isEqualTo(12L);
    assertThat(result.problem()).contains("row 12 is missing");
  }

  @Test
  void aCutTailIsCaughtByTheAnchor() throws Exception {
    append(80);
    var anchor = anchorAt(80);
    // A superuser cuts the last 30 rows: what is left is a valid chain on its own.
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("DELETE FROM audit_log WHERE seq > 50");
      s.execute(TRIGGERS_ON);
    }
    assertThat(verify(null).intact()).as("without the anchor the cut is invisible").isTrue();
    var result = verify(anchor);
    assertThat(result.intact()).isFalse();
    assertThat(result.problem())
        .contains("anchor")
        .contains("row 80")
        .contains("ends at row 50")
        .contains("rows were removed");
  }

  @Test
  void aChainRewrittenFromTheStartIsCaughtByTheAnchor() throws Exception {
    append(30);
    var anchor = anchorAt(20);
    // Every row deleted and the history re-inserted with one change: all hashes are valid again.
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute("CREATE TEMP TABLE original AS SELECT * FROM audit_log ORDER BY seq");
      s.execute(TRIGGERS_OFF);
      s.execute("DELETE FROM audit_log");
      s.execute(TRIGGERS_ON);
      s.execute(
          "INSERT INTO audit_log (actor, action, resource, tenant_id, before_hash, after_hash)"
              + " SELECT actor, action, CASE WHEN seq = 5 THEN 'Secret/hidden' ELSE resource END,"
              + " tenant_id, before_hash, after_hash FROM original ORDER BY seq");
    }
    assertThat(verify(AuditKeys.NONE, null).intact())
        .as("a full rewrite has valid hashes")
        .isTrue();
    var result = verify(AuditKeys.NONE, anchor);
    assertThat(result.intact()).isFalse();
    assertThat(result.firstBrokenSeq()).isEqualTo(20L);
    assertThat(result.problem()).contains("differs from the anchor");
    var sealed = verify(anchor);
    assertThat(sealed.firstBrokenSeq())
        .as("re-inserted, row 1 has a new time and hash")
        .isEqualTo(1L);
    assertThat(sealed.problem()).contains("row 1's seal under key test-1 does not match");
  }

  /**
   * The attack the hash chain alone cannot see: a superuser changes row 37 with the triggers off
   * and recomputes every hash after it. The seals, made with a key PostgreSQL never sees, name row
   * 37.
   */
  @Test
  void aRewriteThatRecomputesEveryHashIsFoundAtItsFirstRowByTheSeals() throws Exception {
    append(100);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 37");
      s.execute(RECOMPUTE_FROM.formatted(37));
      s.execute(TRIGGERS_ON);
    }
    assertThat(verify(AuditKeys.NONE, null).intact())
        .as("the recomputed chain is valid without the key")
        .isTrue();
    var result = verify(null);
    assertThat(result.intact()).isFalse();
    assertThat(result.firstBrokenSeq()).isEqualTo(37L);
    assertThat(result.problem())
        .contains("row 37's seal under key test-1 does not match")
        .contains("without the audit key");
  }

  @Test
  void rowsWhoseSealsWereRemovedOrNeverMadeAreFound() throws Exception {
    append(50);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("DELETE FROM audit_seals WHERE seq >= 40");
      s.execute(TRIGGERS_ON);
    }
    assertThat(verify(null).problem()).startsWith("row 40 has no seal");
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("DELETE FROM audit_seals");
      s.execute(TRIGGERS_ON);
    }
    assertThat(verify(null).problem()).startsWith("row 1 has no seal");
    // The leader, finding no seal under its key, records the key again: that moves nothing.
    try (var log = new AuditLog(operator, KEYS)) {
      var store = new AuditStore(operator, java.util.Optional.of(TestAuditKeys.SPEC), 1);
      new AuditSealing(operator, store, log, new Leadership(false, "robusto-system")).reseal();
    }
    assertThat(verify(null).problem()).startsWith("row 1 has no seal");
  }

  /** With the operator's database login but not its key, a forged entry is valid but unsealed. */
  @Test
  void anEntryAppendedWithTheOperatorsLoginButNotItsKeyIsFound() throws Exception {
    append(3);
    try (var c = operator.getConnection();
        var s = c.createStatement()) {
      s.execute(
          "INSERT INTO audit_log (actor, action, resource) VALUES ('robusto-operator/tenant',"
              + " 'delete', 'Namespace/tenant-x')");
      assertThatThrownBy(() -> s.execute("DELETE FROM audit_seals WHERE seq = 1"))
          .hasMessageContaining("permission denied");
      assertThatThrownBy(
              () ->
                  s.execute(
                      "INSERT INTO audit_seals (seq, key_id, mac) VALUES (5, 'test-1',"
                          + " repeat('0', 64))"))
          .as("a seal planted on the next row would make the operator's append fail")
          .hasMessageContaining("audit_seals_seq_fkey");
      // A temporary audit_log in front of the real one does not renumber the chain.
      s.execute("CREATE TEMP TABLE audit_log (seq bigint, hash text)");
      s.execute("INSERT INTO audit_log VALUES (-1000, 'x')");
      s.execute(
          "INSERT INTO public.audit_log (actor, action, resource) VALUES ('robusto-operator/tenant',"
              + " 'delete', 'Namespace/tenant-y')");
      s.execute("DROP TABLE pg_temp.audit_log");
    }
    append(1);
    var result = verify(null);
    assertThat(result.firstBrokenSeq()).isEqualTo(4L);
    assertThat(result.problem()).contains("row 4 has no seal");
    try (var c = operator.getConnection();
        var rows = c.createStatement().executeQuery("SELECT min(seq), count(*) FROM audit_log")) {
      rows.next();
      assertThat(rows.getLong(1)).as("the chain starts at 1").isEqualTo(1);
      assertThat(rows.getLong(2)).isEqualTo(6);
    }
  }

  /**
   * A rotation: the new key first, the old one kept; the leader records the new key in the chain
   * and re-seals every row under it, after which the old key can go. A row whose old seal is wrong
   * is not re-sealed.
   */
  @Test
  void aRotatedKeyResealsEveryRowSoTheOldKeyCanGo() throws Exception {
    append(30);
    var newKey = "test-2:" + java.util.Base64.getEncoder().encodeToString(new byte[32]);
    var rotatedSpec = newKey + "," + TestAuditKeys.SPEC;
    var rotated = AuditKeys.parse(rotatedSpec);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("UPDATE audit_seals SET mac = repeat('0', 64) WHERE seq = 5");
      s.execute(TRIGGERS_ON);
    }
    var store = new AuditStore(operator, java.util.Optional.of(rotatedSpec), 1);
    Pass pass;
    try (var log = new AuditLog(operator, rotated)) {
      pass =
          new AuditSealing(operator, store, log, new Leadership(false, "robusto-system")).reseal();
    }
    assertThat(pass.resealed()).isEqualTo(29);
    assertThat(pass.refused()).isEqualTo(1);
    assertThat(verify(AuditKeys.parse(newKey), null).firstBrokenSeq())
        .as("row 5 keeps only its wrong seal")
        .isEqualTo(5L);
  }

  /** A trigger replaced to change what the operator appends: the operator refuses to seal it. */
  @Test
  void theOperatorDoesNotSealAnEntryTheDatabaseStoredOtherwise() throws Exception {
    append(2);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(
          """
          CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql AS $$
          DECLARE last audit_log;
          BEGIN
              SELECT * INTO last FROM public.audit_log ORDER BY seq DESC LIMIT 1;
              NEW.actor := 'someone-else';
              NEW.seq := last.seq + 1;
              NEW.at := date_trunc('microseconds', clock_timestamp());
              NEW.prev_hash := last.hash;
              NEW.hash := encode(sha256(convert_to(NEW.prev_hash || audit_canonical(NEW), 'UTF8')), 'hex');
              RETURN NEW;
          END $$""");
    }
    try (var log = new AuditLog(operator, KEYS)) {
      assertThatThrownBy(() -> log.append(entry(3)))
          .isInstanceOf(AuditException.class)
          .hasMessageContaining("PostgreSQL stored audit row 3 other than it was given");
    }
    assertThat(verify(null).rows()).as("nothing was stored").isEqualTo(2);
  }

  /**
   * A superuser cuts the newest rows and their seals: the operator's next entries would take their
   * numbers and be sealed, leaving an intact-looking chain. The log remembers what it appended and
   * refuses instead (a restarted operator does not remember: the anchor bounds that case).
   */
  @Test
  void anOperatorWhoseRowsWereCutRefusesToSealTheirReplacements() throws Exception {
    try (var log = new AuditLog(operator, KEYS)) {
      IntStream.range(0, 20).forEach(i -> log.append(entry(i)));
      try (var c = Postgres.get().superuser(DB);
          var s = c.createStatement()) {
        s.execute(TRIGGERS_OFF);
        s.execute("DELETE FROM audit_seals WHERE seq >= 15");
        s.execute("DELETE FROM audit_log WHERE seq >= 15");
      }
      assertThatThrownBy(() -> log.append(entry(20)))
          .isInstanceOf(AuditException.class)
          .hasMessageContaining("numbered audit row 15 after row 20 this log appended");
    }
    assertThat(verify(null).rows()).as("nothing was stored").isEqualTo(14);
  }

  @Test
  void aRowBelowTheStartOfTheChainIsFound() throws Exception {
    append(3);
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_seq_positive");
      s.execute(
          "INSERT INTO audit_log SELECT -5, at, actor, 'delete', resource, tenant_id, before_hash,"
              + " after_hash, prev_hash, md5('x') || md5('y') FROM audit_log WHERE seq = 1");
    }
    var result = verify(null);
    assertThat(result.firstBrokenSeq()).isEqualTo(-5L);
    assertThat(result.problem()).contains("row -5 does not belong in the chain");
  }

  @Test
  void javaAndTheDatabaseAgreeOnTheCanonicalFormIncludingNonAscii() throws Exception {
    try (var log = new AuditLog(operator, KEYS)) {
      log.append(
          new AuditEntry(
              "robusto-operator/tenant",
              "update",
              "Tenant/comercialización-ñandú-🧾",
              "ñandú",
              "a",
              null));
    }
    assertThat(verify(null).intact()).isTrue();
  }

  @Test
  void theGroupsARequestWasMadeAsAreChainedToo() throws Exception {
    try (var log = new AuditLog(operator, KEYS)) {
      log.append(entry(0));
      log.append(
          new AuditEntry(
              "kube:alice", "update", "Tenant/acme", "acme", "a", "b", "[\"equipo-ñ\",\"x\"]"));
      log.append(entry(2));
    }
    assertThat(verify(null).intact()).isTrue();
    try (var c = Postgres.get().superuser(DB);
        var s = c.createStatement()) {
      s.execute(TRIGGERS_OFF);
      s.execute("UPDATE audit_log SET actor_groups = '[\"system:masters\"]' WHERE seq = 2");
      s.execute(TRIGGERS_ON);
    }
    var result = verify(null);
    assertThat(result.firstBrokenSeq()).isEqualTo(2L);
    assertThat(result.problem()).contains("row 2 was altered");
  }

  private void append(int n) {
    try (var log = new AuditLog(operator, KEYS)) {
      IntStream.range(0, n).forEach(i -> log.append(entry(i)));
    }
  }

  /**
   * Recomputes prev_hash and hash from row {@code %d} on, as the trigger would: a superuser's
   * rewrite.
   */
  private static final String RECOMPUTE_FROM =
      """
      DO $$
      DECLARE
          r audit_log;
          prev text;
      BEGIN
          SELECT hash INTO prev FROM audit_log WHERE seq = %1$d - 1;
          FOR r IN SELECT * FROM audit_log WHERE seq >= %1$d ORDER BY seq LOOP
              r.prev_hash := prev;
              r.hash := encode(sha256(convert_to(prev || audit_canonical(r), 'UTF8')), 'hex');
              UPDATE audit_log SET prev_hash = r.prev_hash, hash = r.hash WHERE seq = r.seq;
              prev := r.hash;
          END LOOP;
      END
      $$
      """;

  private static AuditEntry entry(int i) {
    return new AuditEntry(
        "robusto-operator/tenant",
        i % 3 == 0 ? "create" : "update",
        "ResourceQuota/tenant-" + (i % 7) + "/tenant-quota",
        "tenant-" + (i % 7),
        i % 3 == 0 ? null : AuditCanonical.stateHash("before-" + i),
        AuditCanonical.stateHash("after-" + i));
  }

  private AuditAnchor anchorAt(long seq) throws SQLException {
    try (var c = operator.getConnection();
        var rs =
            c.createStatement().executeQuery("SELECT hash FROM audit_log WHERE seq = " + seq)) {
      rs.next();
      return new AuditAnchor(seq, rs.getString(1));
    }
  }

  private AuditVerification verify(AuditAnchor anchor) throws SQLException {
    return verify(KEYS, anchor);
  }

  private AuditVerification verify(AuditKeys keys, AuditAnchor anchor) throws SQLException {
    try (Connection c = operator.getConnection()) {
      return AuditVerifier.verify(c, keys, anchor);
    }
  }
}
