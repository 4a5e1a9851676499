package dev.robusto.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.RestartablePostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The database connection as the chart makes it with database.tls: against a PostgreSQL that serves
 * TLS only, the migration step (a process of its own, the CA in ROBUSTO_DATABASE_CA, as the chart's
 * init container, the operator and every worker get it) connects only when the server's certificate
 * is the CA's and names the host; without TLS the server refuses it.
 */
@Tag("db")
class DatabaseTlsIT {

  /** What the chart appends to database.url when database.tls names a CA. */
  private static final String VERIFY_FULL =
      "sslmode=verify-full&sslfactory=org.postgresql.ssl.SingleCertValidatingFactory"
          + "&sslfactoryarg=env:ROBUSTO_DATABASE_CA";

  @Test
  void connectionsAreEncryptedAndOnlyToTheServerTheCaVouchesFor() throws Exception {
    try (var postgres = RestartablePostgres.startWithTls("tls-it")) {
      var plain = migrate(postgres, postgres.jdbcUrl() + "?sslmode=disable", postgres.ca());
      assertThat(plain.exit()).as(plain.output()).isEqualTo(1);
      assertThat(plain.output()).contains("no encryption");

      var otherCa = migrate(postgres, postgres.jdbcUrl() + "?" + VERIFY_FULL, anotherCa());
      assertThat(otherCa.exit()).as(otherCa.output()).isEqualTo(1);
      assertThat(otherCa.output()).contains("SSL error: PKIX path building failed");

      var verified = migrate(postgres, postgres.jdbcUrl() + "?" + VERIFY_FULL, postgres.ca());
      assertThat(verified.exit()).as(verified.output()).isZero();
      assertThat(verified.output()).contains("migrate: schema at version");

      // The same factory in this JVM (the CA from a system property, as the environment cannot be
      // set here): the operator's session is encrypted.
      System.setProperty("robusto.test.database-ca", postgres.ca());
      try (var c =
              DriverManager.getConnection(
                  postgres.jdbcUrl()
                      + "?"
                      + VERIFY_FULL.replace(
                          "env:ROBUSTO_DATABASE_CA", "sys:robusto.test.database-ca"),
                  "robusto",
                  postgres.operatorPassword());
          var rs =
              c.createStatement()
                  .executeQuery(
                      "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
        rs.next();
        assertThat(rs.getBoolean(1)).isTrue();
        assertThat(rs.getString(2)).startsWith("TLSv1.");
      } finally {
        System.clearProperty("robusto.test.database-ca");
      }
    }
  }

  private record Run(int exit, String output) {}

  /** dev.robusto.operator.DatabaseMigration as a process, with the chart's environment. */
  private static Run migrate(RestartablePostgres postgres, String url, String ca) throws Exception {
    var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var command =
        new ArrayList<>(
            List.of(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                DatabaseMigration.class.getName()));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder
        .environment()
        .putAll(
            Map.of(
                "QUARKUS_DATASOURCE_JDBC_URL",
                url,
                "QUARKUS_DATASOURCE_USERNAME",
                "robusto",
                "ROBUSTO_DATABASE_OWNER_USERNAME",
                "robusto_owner",
                "ROBUSTO_DATABASE_OWNER_PASSWORD",
                postgres.ownerPassword(),
                "ROBUSTO_DATABASE_CA",
                ca));
    var process = builder.start();
    var output = new String(process.getInputStream().readAllBytes());
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("the migration step did not end: " + output);
    }
    return new Run(process.exitValue(), output);
  }

  /** A CA of someone else's, PEM. */
  private static String anotherCa() throws Exception {
    var dir = Files.createTempDirectory("other-ca");
    var process =
        new ProcessBuilder(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=someone-else",
                "-keyout",
                dir.resolve("ca.key").toString(),
                "-out",
                dir.resolve("ca.crt").toString())
            .redirectErrorStream(true)
            .start();
    process.getInputStream().readAllBytes();
    assertThat(process.waitFor()).isZero();
    return Files.readString(dir.resolve("ca.crt"));
  }
}
