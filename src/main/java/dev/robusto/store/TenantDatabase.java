package dev.robusto.store;

import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * A tenant's presence in PostgreSQL: its tenant_config row and its login roles, confined by
 * row-level security (V2__tenant_isolation.sql). Every method is idempotent and reports whether it
 * changed anything, so the caller audits only real changes.
 */
@ApplicationScoped
public class TenantDatabase {

  /** The tenant_config columns the operator keeps in step with the Tenant spec. */
  public record Config(
      String tenantId,
      String tier,
      String namespace,
      int maxConcurrentJobs,
      int maxDailyJobs,
      int requestsPerMinute,
      boolean suspended) {

    /** The row's state, for the audit log's before/after hashes. */
    public String state() {
      return String.join(
          "|",
          tier,
          namespace,
          Integer.toString(maxConcurrentJobs),
          Integer.toString(maxDailyJobs),
          Integer.toString(requestsPerMinute),
          Boolean.toString(suspended));
    }
  }

  /** A login role as PostgreSQL has it. */
  public record Role(String name, boolean canLogin, int connectionLimit) {}

  private final DataSource dataSource;

  public TenantDatabase(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** The role name of a tenant's credential slot ('a' or 'b'); tenant names are DNS labels. */
  public static String roleName(String tenantId, String slot) {
    return "t_" + tenantId.replace('-', '_') + "_" + slot;
  }

  public Optional<Config> config(String tenantId) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT tier, namespace, max_concurrent_jobs, max_daily_jobs, requests_per_minute,"
                    + " suspended FROM tenant_config WHERE tenant_id = ?")) {
      query.setString(1, tenantId);
      try (var rs = query.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(
            new Config(
                tenantId,
                rs.getString(1),
                rs.getString(2),
                rs.getInt(3),
                rs.getInt(4),
                rs.getInt(5),
                rs.getBoolean(6)));
      }
    }
  }

  public void writeConfig(Config config) throws SQLException {
    try (var c = dataSource.getConnection();
        var upsert =
            c.prepareStatement(
                "INSERT INTO tenant_config (tenant_id, tier, namespace, max_concurrent_jobs,"
                    + " max_daily_jobs, requests_per_minute, suspended) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    + " ON CONFLICT (tenant_id) DO UPDATE SET tier = excluded.tier,"
                    + " namespace = excluded.namespace,"
                    + " max_concurrent_jobs = excluded.max_concurrent_jobs,"
                    + " max_daily_jobs = excluded.max_daily_jobs,"
                    + " requests_per_minute = excluded.requests_per_minute,"
                    + " suspended = excluded.suspended, updated_at = now()")) {
      upsert.setString(1, config.tenantId());
      upsert.setString(2, config.tier());
      upsert.setString(3, config.namespace());
      upsert.setInt(4, config.maxConcurrentJobs());
      upsert.setInt(5, config.maxDailyJobs());
      upsert.setInt(6, config.requestsPerMinute());
      upsert.setBoolean(7, config.suspended());
      upsert.executeUpdate();
    }
  }

  public Optional<Role> role(String name) throws SQLException {
    try (var c = dataSource.getConnection();
        var query =
            c.prepareStatement(
                "SELECT rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = ?")) {
      query.setString(1, name);
      try (var rs = query.executeQuery()) {
        return rs.next()
            ? Optional.of(new Role(name, rs.getBoolean(1), rs.getInt(2)))
            : Optional.empty();
      }
    }
  }

  /**
   * Creates the login role, or sets its password (as a SCRAM verifier, never in plain text), LOGIN
   * and connection limit; maps it to the tenant so row-level security applies.
   */
  public void login(String tenantId, String role, String scramVerifier, int connectionLimit)
      throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var s = c.createStatement()) {
        var quoted = quote(role);
        var options =
            " LOGIN CONNECTION LIMIT " + connectionLimit + " PASSWORD '" + scramVerifier + "'";
        if (role(c, role)) {
          s.execute("ALTER ROLE " + quoted + options);
        } else {
          s.execute("CREATE ROLE " + quoted + options + " IN ROLE robusto_tenant");
        }
        try (var map =
            c.prepareStatement(
                "INSERT INTO tenant_db_roles (role_name, tenant_id) VALUES (?, ?)"
                    + " ON CONFLICT (role_name) DO UPDATE SET tenant_id = excluded.tenant_id")) {
          map.setString(1, role);
          map.setString(2, tenantId);
          map.executeUpdate();
        }
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  public void connectionLimit(String role, int connectionLimit) throws SQLException {
    execute("ALTER ROLE " + quote(role) + " CONNECTION LIMIT " + connectionLimit);
  }

  /** Ends a credential: the role stays (and owns nothing) but can no longer log in. */
  public void noLogin(String role) throws SQLException {
    execute("ALTER ROLE " + quote(role) + " NOLOGIN PASSWORD NULL");
  }

  /** Drops all the tenant's roles; returns their names. */
  public List<String> dropRoles(String tenantId) throws SQLException {
    var dropped = new ArrayList<String>();
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (var query =
              c.prepareStatement("SELECT role_name FROM tenant_db_roles WHERE tenant_id = ?");
          var s = c.createStatement()) {
        query.setString(1, tenantId);
        try (var rs = query.executeQuery()) {
          while (rs.next()) {
            dropped.add(rs.getString(1));
          }
        }
        try (var unmap = c.prepareStatement("DELETE FROM tenant_db_roles WHERE tenant_id = ?")) {
          unmap.setString(1, tenantId);
          unmap.executeUpdate();
        }
        for (var role : dropped) {
          s.execute("DROP ROLE IF EXISTS " + quote(role));
        }
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
    return dropped;
  }

  /**
   * Deletes the tenant's rows in every shared table (foreign keys cascade); returns whether any.
   */
  public boolean erase(String tenantId) throws SQLException {
    try (var c = dataSource.getConnection();
        var delete = c.prepareStatement("DELETE FROM tenant_config WHERE tenant_id = ?")) {
      delete.setString(1, tenantId);
      return delete.executeUpdate() > 0;
    }
  }

  private static boolean role(Connection c, String name) throws SQLException {
    try (var query = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
      query.setString(1, name);
      try (var rs = query.executeQuery()) {
        return rs.next();
      }
    }
  }

  private void execute(String sql) throws SQLException {
    try (var c = dataSource.getConnection();
        var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }
}
