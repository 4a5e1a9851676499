package dev.robusto.tenant;

import dev.robusto.operator.Sql;
import jakarta.enterprise.context.ApplicationScoped;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * A tenant's presence in PostgreSQL: its tenant_config row and its login roles, confined by
 * row-level security (V2__tenant_isolation.sql). Every method is idempotent and reports whether it
 * changed anything, so the caller audits only real changes.
 */
@ApplicationScoped
public class TenantDatabase {

  private static final Logger LOG = Logger.getLogger(TenantDatabase.class);

  /**
   * The tenant_config columns the operator keeps in step with the Tenant spec. {@code uid} is the
   * Tenant object's UID: a Tenant re-created under a retained name has another one. Retained rows
   * outlived their Tenant (onDelete: Retain) and answer no namespace lookup.
   */
  public record Config(
      String tenantId,
      String uid,
      boolean retained,
      String tier,
      String namespace,
      int maxConcurrentJobs,
      int maxDailyJobs,
      int requestsPerMinute,
      boolean suspended,
      BigDecimal pricePerTicketMxn) {

    /** The row's state, for the audit log's before/after hashes. */
    public String state() {
      return String.join(
          "|",
          String.valueOf(uid),
          retained ? "retained" : "live",
          tier,
          namespace,
          Integer.toString(maxConcurrentJobs),
          Integer.toString(maxDailyJobs),
          Integer.toString(requestsPerMinute),
          Boolean.toString(suspended),
          pricePerTicketMxn.toPlainString());
    }
  }

  /** A tenant session the operator ended. */
  public record EndedSession(String tenantId, String role) {}

  /** A login role as PostgreSQL has it. */
  public record Role(String name, boolean canLogin, int connectionLimit) {}

  private final DataSource dataSource;
  private final Sql sql;

  public TenantDatabase(DataSource dataSource) {
    this.dataSource = dataSource;
    this.sql = new Sql(dataSource);
  }

  /** The role name of a tenant's credential slot ('a' or 'b'); tenant names are DNS labels. */
  public static String roleName(String tenantId, String slot) {
    return "t_" + tenantId.replace('-', '_') + "_" + slot;
  }

  public Optional<Config> config(String tenantId) throws SQLException {
    return sql.one(
        """
        SELECT tenant_uid, retained_at IS NOT NULL, tier, namespace, max_concurrent_jobs,
          max_daily_jobs, requests_per_minute, suspended, price_per_ticket_mxn FROM tenant_config
        WHERE tenant_id = ?
        """,
        rs ->
            new Config(
                tenantId,
                rs.getString(1),
                rs.getBoolean(2),
                rs.getString(3),
                rs.getString(4),
                rs.getInt(5),
                rs.getInt(6),
                rs.getInt(7),
                rs.getBoolean(8),
                rs.getBigDecimal(9)),
        tenantId);
  }

  /** Writes a live tenant's row; a retained row written this way is adopted. */
  public void writeConfig(Config config) throws SQLException {
    if (config.retained()) {
      throw new IllegalArgumentException("only a live tenant's row is written");
    }
    sql.update(
        """
        INSERT INTO tenant_config (tenant_id, tenant_uid, tier, namespace,
          max_concurrent_jobs, max_daily_jobs, requests_per_minute, suspended, price_per_ticket_mxn)
        VALUES (?, ?::uuid, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tenant_id) DO UPDATE SET tenant_uid = excluded.tenant_uid,
          retained_at = NULL,
          tier = excluded.tier,
          namespace = excluded.namespace,
          max_concurrent_jobs = excluded.max_concurrent_jobs,
          max_daily_jobs = excluded.max_daily_jobs,
          requests_per_minute = excluded.requests_per_minute,
          suspended = excluded.suspended,
          price_per_ticket_mxn = excluded.price_per_ticket_mxn, updated_at = now()
        """,
        config.tenantId(),
        config.uid(),
        config.tier(),
        config.namespace(),
        config.maxConcurrentJobs(),
        config.maxDailyJobs(),
        config.requestsPerMinute(),
        config.suspended(),
        config.pricePerTicketMxn());
  }

  public Optional<Role> role(String name) throws SQLException {
    return sql.one(
        """
        SELECT rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = ?
        """,
        rs -> new Role(name, rs.getBoolean(1), rs.getInt(2)),
        name);
  }

  /** What a tenant's session gets unless it sets otherwise; the watchdog bounds what it may. */
  private static final List<String> SESSION_DEFAULTS =
      List.of(
          "statement_timeout = '30s'",
          "lock_timeout = '5s'",
          "idle_in_transaction_session_timeout = '30s'");

  /**
   * Creates the login role, or sets its password (as a SCRAM verifier, never in plain text), LOGIN
   * and connection limit; maps it to the tenant (the worker functions take the tenant from it). The
   * operator is made a member, so it can end the role's sessions and drop what it leaves.
   */
  public void login(String tenantId, String role, String scramVerifier, int connectionLimit)
      throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var s = c.createStatement()) {
        var quoted = Sql.quoteIdentifier(role);
        var options =
            " LOGIN CONNECTION LIMIT " + connectionLimit + " PASSWORD '" + scramVerifier + "'";
        if (role(c, role)) {
          s.execute("ALTER ROLE " + quoted + options);
        } else {
          s.execute("CREATE ROLE " + quoted + options + " IN ROLE robusto_tenant");
        }
        s.execute("GRANT " + quoted + " TO CURRENT_USER");
        for (var setting : SESSION_DEFAULTS) {
          s.execute("ALTER ROLE " + quoted + " SET " + setting);
        }
        Sql.update(
            c,
            """
            INSERT INTO tenant_db_roles (role_name, tenant_id) VALUES (?, ?)
            ON CONFLICT (role_name) DO UPDATE SET tenant_id = excluded.tenant_id
            """,
            role,
            tenantId);
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  public void connectionLimit(String role, int connectionLimit) throws SQLException {
    execute("ALTER ROLE " + Sql.quoteIdentifier(role) + " CONNECTION LIMIT " + connectionLimit);
  }

  /**
   * Ends a credential: the role stays (and owns nothing) but can no longer log in, and its open
   * sessions are ended, so a credential past its grace period is worth nothing.
   */
  public void noLogin(String role) throws SQLException {
    try (var c = dataSource.getConnection()) {
      lockOut(c, role);
    }
  }

  /**
   * Ends tenant sessions that hold a transaction open longer than {@code open}, or sit idle in one
   * longer than {@code idle}: a tenant may change its own session settings, so the bound on how
   * long it holds locks and the vacuum horizon back is kept here. A session holding an advisory
   * lock is ended at once, except the locks the worker functions take to serialize a tenant's own
   * reports (circuits, merchants: keyed by the tenant, so holding one delays only that tenant).
   * Returns the sessions ended.
   */
  public List<EndedSession> endLongTransactions(Duration open, Duration idle) throws SQLException {
    var ended = new ArrayList<EndedSession>();
    try (var c = dataSource.getConnection();
        var s = c.createStatement()) {
      // Sessions of roles we are not a member of show no state: roles from before V6 first.
      var strangers =
          Sql.list(
              c,
              """
              SELECT role_name FROM tenant_db_roles r JOIN pg_roles p ON p.rolname = r.role_name
              WHERE NOT pg_has_role(current_user, p.oid, 'USAGE')
              """,
              rs -> rs.getString(1));
      for (var role : strangers) {
        try {
          s.execute("GRANT " + Sql.quoteIdentifier(role) + " TO CURRENT_USER");
        } catch (SQLException e) {
          LOG.warnf("Cannot watch the sessions of %s: %s", role, e.getMessage());
        }
      }
      // The last condition: an advisory lock outlives transactions, and the audit chain and
      // Flyway take advisory locks whose keys anyone can compute: a tenant holds none but the
      // worker functions' own, under its own name (V11, V14; ending those killed workers' reports).
      var terminated =
          Sql.list(
              c,
              """
              SELECT r.tenant_id, a.usename, pg_terminate_backend(a.pid) FROM pg_stat_activity a
              JOIN tenant_db_roles r ON r.role_name = a.usename
              WHERE a.xact_start < now() - ? * interval '1 millisecond'
              OR (a.state LIKE 'idle in transaction%'
                AND a.state_change < now() - ? * interval '1 millisecond')
              OR EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid
                AND l.locktype = 'advisory'
                AND NOT (l.objsubid = 2 AND l.objid = hashtext(r.tenant_id)::oid
                  AND l.classid IN (hashtext('robusto.circuits')::oid,
                                    hashtext('robusto.merchants')::oid)))
              """,
              rs -> rs.getBoolean(3) ? new EndedSession(rs.getString(1), rs.getString(2)) : null,
              open.toMillis(),
              idle.toMillis());
      for (var session : terminated) {
        if (session != null) {
          ended.add(session);
        }
      }
    }
    return ended;
  }

  /**
   * Drops all the tenant's roles; returns their names. A tenant cannot hold this up: its roles are
   * locked out and their sessions ended first, and whatever they left that would make DROP ROLE
   * fail (default privileges they set, grants, objects) is dropped with them.
   */
  public List<String> dropRoles(String tenantId) throws SQLException {
    try (var c = dataSource.getConnection()) {
      var dropped =
          Sql.list(
              c,
              """
              SELECT role_name FROM tenant_db_roles WHERE tenant_id = ?
              """,
              rs -> rs.getString(1),
              tenantId);
      for (var role : dropped) {
        if (role(c, role)) {
          lockOut(c, role);
        }
      }
      c.setAutoCommit(false);
      try (var s = c.createStatement()) {
        Sql.update(
            c,
            """
            DELETE FROM tenant_db_roles WHERE tenant_id = ?
            """,
            tenantId);
        for (var role : dropped) {
          if (!role(c, role)) {
            continue;
          }
          var quoted = Sql.quoteIdentifier(role);
          s.execute("DROP OWNED BY " + quoted);
          s.execute("DROP ROLE " + quoted);
        }
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
      return dropped;
    }
  }

  /**
   * NOLOGIN first, so the role cannot log back in, then its sessions end. Ending them (and DROP
   * OWNED) needs the role's privileges: CREATEROLE's admin option on the roles we created lets us
   * grant them to ourselves, and the tenant's role holds less than ours.
   */
  private static void lockOut(Connection c, String role) throws SQLException {
    try (var s = c.createStatement()) {
      s.execute("ALTER ROLE " + Sql.quoteIdentifier(role) + " NOLOGIN PASSWORD NULL");
      s.execute("GRANT " + Sql.quoteIdentifier(role) + " TO CURRENT_USER");
    }
    Sql.execute(
        c,
        """
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = ?
        """,
        role);
  }

  /**
   * Marks the tenant's rows retained if they are the Tenant {@code uid}'s: kept, but no longer
   * anyone's namespace, and handed to a later Tenant of the name only if it asks.
   */
  public void retain(String tenantId, String uid) throws SQLException {
    sql.update(
        """
        UPDATE tenant_config SET retained_at = now() WHERE tenant_id = ?
          AND retained_at IS NULL AND (tenant_uid IS NULL OR tenant_uid = ?::uuid)
        """,
        tenantId,
        uid);
  }

  /**
   * Deletes the tenant's rows in every shared table (foreign keys cascade) if they are the Tenant
   * {@code uid}'s, never rows retained from an earlier Tenant of that name; returns whether any.
   */
  public boolean erase(String tenantId, String uid) throws SQLException {
    var deleted =
        sql.update(
            """
            DELETE FROM tenant_config WHERE tenant_id = ?
              AND (tenant_uid IS NULL OR tenant_uid = ?::uuid)
            """,
            tenantId,
            uid);
    return deleted > 0;
  }

  private static boolean role(Connection c, String name) throws SQLException {
    return Sql.one(
            c,
            """
            SELECT 1 FROM pg_roles WHERE rolname = ?
            """,
            rs -> true,
            name)
        .isPresent();
  }

  private void execute(String sql) throws SQLException {
    try (var c = dataSource.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
