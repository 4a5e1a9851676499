package dev.robusto.testing;

import dev.robusto.operator.DatabaseMigration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A PostgreSQL of a test's own that the test may restart, as a failover or an upgrade would: the
 * same binaries as {@link Postgres}, started by {@code hack/postgres} in a directory of its own,
 * with durable settings. {@link #close} stops it and deletes its data.
 */
public final class RestartablePostgres implements AutoCloseable {

  private static final Pattern URL =
      Pattern.compile("JDBC_URL=jdbc:postgresql://127.0.0.1:(\\d+)/");
  private static final Pattern PASSWORD = Pattern.compile("QUARKUS_DATASOURCE_PASSWORD=(\\S+)");
  private static final Pattern OWNER_PASSWORD =
      Pattern.compile("ROBUSTO_DATABASE_OWNER_PASSWORD=(\\S+)");

  private final Path dir;
  private final int port;
  private final String operatorPassword;
  private final String ownerPassword;

  private RestartablePostgres(Path dir, int port, String operatorPassword, String ownerPassword) {
    this.dir = dir;
    this.port = port;
    this.operatorPassword = operatorPassword;
    this.ownerPassword = ownerPassword;
  }

  /** Starts one; {@code name} keeps its directory apart from other tests' and local runs'. */
  public static RestartablePostgres start(String name) throws IOException {
    return start(name, false);
  }

  /**
   * Starts one that serves TLS only, with a certificate for 127.0.0.1 signed by a CA of its own
   * ({@link #ca}); plain connections are refused.
   */
  public static RestartablePostgres startWithTls(String name) throws IOException {
    return start(name, true);
  }

  private static RestartablePostgres start(String name, boolean tls) throws IOException {
    var dir = Path.of("/tmp", "robusto-postgres-cache", name + "-" + ProcessHandle.current().pid());
    var env =
        Path.of(
            script(dir, "up", tls ? Map.of("ROBUSTO_PG_TLS", "1") : Map.of())
                .strip()
                .lines()
                .reduce((a, b) -> b)
                .orElseThrow());
    var settings = Files.readString(env);
    var port = URL.matcher(settings);
    var password = PASSWORD.matcher(settings);
    var ownerPassword = OWNER_PASSWORD.matcher(settings);
    if (!port.find() || !password.find() || !ownerPassword.find()) {
      throw new IllegalStateException("unexpected " + env + ": no URL or passwords");
    }
    var started =
        new RestartablePostgres(
            dir, Integer.parseInt(port.group(1)), password.group(1), ownerPassword.group(1));
    Runtime.getRuntime().addShutdownHook(new Thread(started::close));
    return started;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/robusto";
  }

  /** The CA that signed a TLS server's certificate, PEM. */
  public String ca() throws IOException {
    return Files.readString(dir.resolve("ca.crt"));
  }

  public String operatorPassword() {
    return operatorPassword;
  }

  public String ownerPassword() {
    return ownerPassword;
  }

  /** Database robusto, migrated as its owner; the data source connects as the operator's login. */
  public DataSource migrated() {
    try {
      DatabaseMigration.migrate(
          dataSource(Postgres.OWNER_ROLE, ownerPassword), Postgres.OPERATOR_ROLE);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return dataSource(Postgres.OPERATOR_ROLE, operatorPassword);
  }

  public Connection superuser() throws SQLException {
    return dataSource("postgres", "postgres").getConnection();
  }

  /** Stops the server (fast: sessions are cut, as in a crash or failover) and starts it again. */
  public void restart() {
    script(dir, "restart", Map.of());
  }

  @Override
  public void close() {
    script(dir, "down", Map.of());
  }

  private DataSource dataSource(String user, String password) {
    var ds = new PGSimpleDataSource();
    ds.setUrl(jdbcUrl());
    ds.setUser(user);
    ds.setPassword(password);
    return ds;
  }

  private static String script(Path dir, String command, Map<String, String> extraEnv) {
    try {
      var builder =
          new ProcessBuilder(List.of("hack/postgres", command))
              .directory(LocalCluster.projectDir().toFile())
              .redirectErrorStream(true);
      builder.environment().put("ROBUSTO_PG_DIR", dir.toString());
      builder.environment().putAll(extraEnv);
      var output = Files.createTempFile("robusto-postgres", ".log");
      builder.redirectOutput(output.toFile());
      var process = builder.start();
      if (!process.waitFor(300, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("hack/postgres " + command + " timed out");
      }
      var text = Files.readString(output);
      Files.delete(output);
      if (process.exitValue() != 0) {
        throw new IllegalStateException("hack/postgres " + command + " failed:\n" + text);
      }
      return text;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
