package dev.robusto.testing;

import dev.robusto.operator.DatabaseMigration;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A real PostgreSQL 17 (the zonky binaries from Maven, run as a process), one per test JVM, with
 * the two logins production gets: the schema's owner {@code robusto_owner}, which only migrations
 * use, and the operator's {@code robusto}, which owns nothing (both LOGIN and CREATEROLE, neither a
 * superuser). The superuser is for tests that play an attacker.
 *
 * <p>zonky runs PostgreSQL without fsync, which is right for tests and wrong for benchmarks: with
 * {@code ROBUSTO_PG_PORT} set, an already running server with durable settings is used instead
 * ({@code hack/postgres}, superuser password {@code postgres}).
 */
public final class Postgres {

  public static final String OPERATOR_ROLE = "robusto";
  public static final String OPERATOR_PASSWORD = "robusto-test-only";
  public static final String OWNER_ROLE = "robusto_owner";
  public static final String OWNER_PASSWORD = "robusto-owner-test-only";

  /** The audit checkpointer's login: LOGIN and nothing else, granted robusto_audit_reader. */
  public static final String CHECKPOINTER_ROLE = "robusto_checkpointer";

  public static final String CHECKPOINTER_PASSWORD = "robusto-checkpointer-test-only";

  private static Postgres instance;
  private final EmbeddedPostgres server;
  private final int port;

  private Postgres(EmbeddedPostgres server, int port) {
    this.server = server;
    this.port = port;
  }

  public static synchronized Postgres get() {
    if (instance == null) {
      try {
        var external = System.getenv("ROBUSTO_PG_PORT");
        if (external != null) {
          instance = new Postgres(null, Integer.parseInt(external));
        } else {
          var server = EmbeddedPostgres.builder().start();
          instance = new Postgres(server, server.getPort());
          Runtime.getRuntime().addShutdownHook(new Thread(instance::close));
        }
        try (var c = instance.superuser("postgres");
            var s = c.createStatement()) {
          for (var login :
              new String[][] {{OPERATOR_ROLE, OPERATOR_PASSWORD}, {OWNER_ROLE, OWNER_PASSWORD}}) {
            s.execute(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '"
                    + login[0]
                    + "') THEN CREATE ROLE "
                    + login[0]
                    + " LOGIN CREATEROLE; END IF; END $$");
            s.execute("ALTER ROLE " + login[0] + " PASSWORD '" + login[1] + "'");
          }
          s.execute(
              "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '"
                  + CHECKPOINTER_ROLE
                  + "') THEN CREATE ROLE "
                  + CHECKPOINTER_ROLE
                  + " LOGIN; END IF; END $$");
          s.execute(
              "ALTER ROLE " + CHECKPOINTER_ROLE + " PASSWORD '" + CHECKPOINTER_PASSWORD + "'");
        }
        instance.migratedDatabase("robusto");
      } catch (IOException | SQLException e) {
        throw new IllegalStateException("Cannot start PostgreSQL", e);
      }
    }
    return instance;
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /**
   * A fresh, empty database owned by the owner's login, for tests that need their own schema; the
   * data source connects as the owner.
   */
  public DataSource newDatabase(String name) {
    try (var c = superuser("postgres");
        var s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      s.execute("CREATE DATABASE " + name + " OWNER " + OWNER_ROLE);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return owner(name);
  }

  /**
   * The platform schema, migrated as the owner by the migration step the chart runs; the data
   * source connects as the operator's login, as the operator does.
   */
  public DataSource migratedDatabase(String name) {
    try {
      DatabaseMigration.migrate(newDatabase(name), OPERATOR_ROLE, CHECKPOINTER_ROLE);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return operator(name);
  }

  /** {@code database} as the operator's login. */
  public DataSource operator(String database) {
    return dataSource(database, OPERATOR_ROLE, OPERATOR_PASSWORD);
  }

  /** {@code database} as the schema owner's login, which only migrations use in production. */
  public DataSource owner(String database) {
    return dataSource(database, OWNER_ROLE, OWNER_PASSWORD);
  }

  public DataSource dataSource(String database, String user, String password) {
    var ds = new PGSimpleDataSource();
    ds.setUrl(jdbcUrl(database));
    ds.setUser(user);
    ds.setPassword(password);
    return ds;
  }

  /**
   * A pool of {@code size} connections as {@code user}, opened as needed and kept: what a worker
   * uses, so a tenant role's SCRAM login is paid once per connection, not per statement.
   */
  public DataSource pooled(String database, String user, String password, int size) {
    try {
      return io.agroal.api.AgroalDataSource.from(
          new io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier()
              .connectionPoolConfiguration(
                  pool ->
                      pool.maxSize(size)
                          .connectionFactoryConfiguration(
                              factory ->
                                  factory
                                      .jdbcUrl(jdbcUrl(database))
                                      .principal(new io.agroal.api.security.NamePrincipal(user))
                                      .credential(
                                          new io.agroal.api.security.SimplePassword(password)))));
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The server's version, as benchmarks report it. */
  public String version() throws SQLException {
    try (var c = superuser("postgres");
        var rs = c.createStatement().executeQuery("SHOW server_version")) {
      rs.next();
      return rs.getString(1);
    }
  }

  public Connection superuser(String database) throws SQLException {
    return dataSource(database, "postgres", "postgres").getConnection();
  }

  private void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // The JVM is exiting; the data directory is temporary.
    }
  }
}
