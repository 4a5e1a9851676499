package dev.robusto.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** Gives the operator under test a real PostgreSQL, connected as its non-superuser role. */
public class PostgresResource implements QuarkusTestResourceLifecycleManager {

  @Override
  public Map<String, String> start() {
    var postgres = Postgres.get();
    return Map.of(
        "quarkus.datasource.jdbc.url",
        postgres.jdbcUrl("robusto"),
        "quarkus.datasource.username",
        Postgres.OPERATOR_ROLE,
        "quarkus.datasource.password",
        Postgres.OPERATOR_PASSWORD,
        // Short, so tests see a rotated credential expire; long enough to log in with it meanwhile.
        "robusto.tenant.database.rotation-grace",
        "10s");
  }

  @Override
  public void stop() {
    // Shared by every test class in this JVM; a shutdown hook stops it.
  }
}
