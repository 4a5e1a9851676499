package dev.robusto.operator;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The migration step: applies the Flyway migrations as the schema's owner, then lets the operator's
 * runtime login use the schema (membership in {@code robusto_runtime}, V20). It runs apart from the
 * operator (the chart's init container, {@code hack/lib.sh}, the tests), so the operator process
 * never holds the owner's password: the role it runs as owns nothing and may only append to the
 * audit log.
 *
 * <p>Environment: QUARKUS_DATASOURCE_JDBC_URL, QUARKUS_DATASOURCE_USERNAME (the runtime login,
 * which exists with LOGIN CREATEROLE), ROBUSTO_DATABASE_OWNER_USERNAME and _PASSWORD. Exit code 0
 * when the schema is current, 1 with what to do otherwise, 2 on missing configuration.
 */
public final class DatabaseMigration {

  public static final String RUNTIME_GROUP = "robusto_runtime";
  public static final String AUDIT_READER_GROUP = "robusto_audit_reader";

  private DatabaseMigration() {}

  public static void main(String[] args) {
    System.exit(run(System.getenv()));
  }

  static int run(Map<String, String> env) {
    var url = env.get("QUARKUS_DATASOURCE_JDBC_URL");
    var runtime = env.get("QUARKUS_DATASOURCE_USERNAME");
    var owner = env.get("ROBUSTO_DATABASE_OWNER_USERNAME");
    var password = env.get("ROBUSTO_DATABASE_OWNER_PASSWORD");
    var checkpointer = env.get("ROBUSTO_DATABASE_CHECKPOINTER_USERNAME");
    if (url == null || runtime == null || owner == null || password == null) {
      System.err.println(
          "migrate: set QUARKUS_DATASOURCE_JDBC_URL, QUARKUS_DATASOURCE_USERNAME (the operator's"
              + " login), ROBUSTO_DATABASE_OWNER_USERNAME and ROBUSTO_DATABASE_OWNER_PASSWORD (the"
              + " schema owner's)");
      return 2;
    }
    var dataSource = new PGSimpleDataSource();
    dataSource.setUrl(url);
    dataSource.setUser(owner);
    dataSource.setPassword(password);
    try {
      var version = migrate(dataSource, runtime, checkpointer);
      System.out.printf("migrate: schema at version %s; %s may use it%n", version, runtime);
      if (checkpointer != null) {
        System.out.printf("migrate: %s may read where the audit chain stands%n", checkpointer);
      }
      return 0;
    } catch (SQLException | RuntimeException e) {
      System.err.println("migrate: " + e.getMessage());
      return 1;
    }
  }

  /**
   * Migrates the schema {@code owner} connects to and grants the runtime group to {@code runtime};
   * returns the schema's version. Refuses a runtime login that is the owner, a superuser, owns a
   * table, or cannot create tenant roles, saying how to fix it.
   */
  public static String migrate(DataSource owner, String runtime) throws SQLException {
    return migrate(owner, runtime, null);
  }

  /**
   * As {@link #migrate(DataSource, String)}, and grants the audit reader group to {@code
   * checkpointer} (null: none), the audit checkpointer's login. Refuses one that could do more than
   * read the chain's position: a superuser, the owner, the operator's login, or a member of either.
   */
  public static String migrate(DataSource owner, String runtime, String checkpointer)
      throws SQLException {
    try (var c = owner.getConnection()) {
      checkRuntimeLogin(c, runtime);
      if (checkpointer != null) {
        checkCheckpointerLogin(c, runtime, checkpointer);
      }
    }
    var result =
        Flyway.configure().dataSource(owner).locations("classpath:db/migration").load().migrate();
    try (var c = owner.getConnection();
        var s = c.createStatement()) {
      s.execute("GRANT " + RUNTIME_GROUP + " TO " + Sql.quoteIdentifier(runtime));
      if (checkpointer != null) {
        s.execute("GRANT " + AUDIT_READER_GROUP + " TO " + Sql.quoteIdentifier(checkpointer));
      }
    }
    return result.targetSchemaVersion != null
        ? result.targetSchemaVersion
        : result.initialSchemaVersion;
  }

  private static void checkCheckpointerLogin(Connection c, String runtime, String checkpointer)
      throws SQLException {
    try (var q =
        c.prepareStatement(
            "SELECT r.rolsuper OR r.rolcreaterole, r.rolcanlogin,"
                + " pg_has_role(r.oid, current_user, 'MEMBER')"
                + " OR EXISTS (SELECT FROM pg_roles g WHERE g.rolname IN (?, ?)"
                + "  AND pg_has_role(r.oid, g.oid, 'MEMBER'))"
                + " OR (SELECT datdba FROM pg_database WHERE datname = current_database()) = r.oid"
                + " FROM pg_roles r WHERE r.rolname = ?")) {
      q.setString(1, runtime);
      q.setString(2, RUNTIME_GROUP);
      q.setString(3, checkpointer);
      try (var rs = q.executeQuery()) {
        if (!rs.next() || !rs.getBoolean(2)) {
          throw new IllegalStateException(
              "the audit checkpointer's login "
                  + checkpointer
                  + " does not exist or cannot log in: CREATE ROLE "
                  + Sql.quoteIdentifier(checkpointer)
                  + " LOGIN PASSWORD '...' (nothing more: it only reads the audit chain's position)");
        }
        if (rs.getBoolean(1) || rs.getBoolean(3)) {
          throw new IllegalStateException(
              "the audit checkpointer's login "
                  + checkpointer
                  + " can do more than read the audit chain's position (a superuser, CREATEROLE,"
                  + " the owner, the operator's login or a member of either): give it a login of"
                  + " its own with LOGIN and nothing else (audit.checkpointer.database.username)");
        }
      }
    }
  }

  private static void checkRuntimeLogin(Connection c, String runtime) throws SQLException {
    try (var q =
        c.prepareStatement(
            "SELECT r.rolsuper, r.rolcreaterole, r.rolcanlogin, r.rolname = current_user,"
                + " (SELECT string_agg(t.tablename, ', ') FROM pg_tables t"
                + "  WHERE t.schemaname = 'public' AND t.tableowner = r.rolname),"
                + " pg_has_role(r.oid, current_user, 'MEMBER')"
                + "  OR (SELECT datdba FROM pg_database WHERE datname = current_database()) = r.oid"
                + " FROM pg_roles r WHERE r.rolname = ?")) {
      q.setString(1, runtime);
      try (var rs = q.executeQuery()) {
        if (!rs.next()) {
          throw new IllegalStateException(
              "the operator's login "
                  + runtime
                  + " does not exist: CREATE ROLE "
                  + Sql.quoteIdentifier(runtime)
                  + " LOGIN CREATEROLE PASSWORD '...'");
        }
        if (rs.getBoolean(4)) {
          throw new IllegalStateException(
              "the operator's login must not be the schema owner ("
                  + runtime
                  + "): give the operator a login of its own (database.username) and keep the"
                  + " owner for migrations (database.owner.username)");
        }
        if (rs.getBoolean(1)) {
          throw new IllegalStateException(
              "the operator's login " + runtime + " is a superuser: ALTER ROLE ... NOSUPERUSER");
        }
        if (!rs.getBoolean(2) || !rs.getBoolean(3)) {
          throw new IllegalStateException(
              "the operator's login "
                  + runtime
                  + " needs LOGIN and CREATEROLE (it manages the tenants' roles): ALTER ROLE "
                  + Sql.quoteIdentifier(runtime)
                  + " LOGIN CREATEROLE");
        }
        var owned = rs.getString(5);
        if (owned != null) {
          throw new IllegalStateException(
              "the operator's login "
                  + runtime
                  + " owns tables ("
                  + owned
                  + "), as before the owner and runtime roles were split: as a superuser, REASSIGN"
                  + " OWNED BY "
                  + Sql.quoteIdentifier(runtime)
                  + " TO <owner>; GRANT robusto_tenant, and each tenant role, TO <owner> WITH ADMIN"
                  + " OPTION; then migrate again (README: Install on a real cluster with Helm)");
        }
        if (rs.getBoolean(6)) {
          throw new IllegalStateException(
              "the operator's login "
                  + runtime
                  + " owns the database or is a member of the schema owner, so it could act as"
                  + " the owner: give the database to the owner (ALTER DATABASE ... OWNER TO"
                  + " <owner>) and REVOKE <owner> FROM "
                  + Sql.quoteIdentifier(runtime));
        }
      }
    }
  }
}
