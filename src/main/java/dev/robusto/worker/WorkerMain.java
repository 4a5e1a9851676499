package dev.robusto.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.queue.WorkQueue;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.exceptionsorter.PostgreSQLExceptionSorter;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import java.time.Duration;
import java.util.Map;

/**
 * The worker role: what a batch's Job pods and an AutomationDeployment's fleet pods run (the
 * operator's image, with this class as the entry point). Configuration from the environment:
 * ROBUSTO_WORKER_CONFIG (JSON, see {@link WorkerConfig}), ROBUSTO_DATABASE_URL, _USERNAME and
 * _PASSWORD (the tenant's Secret, so row-level security confines the worker to its tenant),
 * ROBUSTO_PAYLOAD_KEY (the same Secret's, to open its tenant's encrypted payloads) and
 * ROBUSTO_WORKER_NAME (the pod's name). Exit code: 0 when the batch has nothing left to process
 * (or, for a fleet worker, when stopped), 1 on an error, 2 on bad configuration.
 */
public final class WorkerMain {

  /**
   * The exit code (EX_TEMPFAIL) of a worker that waited out its patience for the database: the
   * batch's Job does not count it as a failure, and starts another pod.
   */
  public static final int EXIT_DATABASE_UNAVAILABLE = 75;

  /** Connections in a worker's pool: the work loop's and the heartbeat's. */
  public static final int CONNECTIONS = 2;

  /** Under the pod's default 30 s termination grace, with room for the JVM to exit. */
  private static final Duration STOP_GRACE = Duration.ofSeconds(25);

  private WorkerMain() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(System.getenv()));
  }

  /**
   * The worker is not a Quarkus application, so nothing would configure its logging: Quarkus's
   * bootstrap handler would hold every record in memory, unwritten. Records of INFO and up go to
   * standard error instead, one JSON object a line ({@link WorkerLogFormat}), for the pod's log.
   */
  static void logToStandardError(String worker, String tenant, WorkerConfig config) {
    var root = java.util.logging.Logger.getLogger("");
    for (var handler : root.getHandlers()) {
      root.removeHandler(handler);
    }
    var console = new java.util.logging.ConsoleHandler();
    console.setFormatter(new WorkerLogFormat(worker, tenant, config));
    console.setLevel(java.util.logging.Level.INFO);
    root.addHandler(console);
    root.setLevel(java.util.logging.Level.INFO);
  }

  static int run(Map<String, String> env) throws InterruptedException {
    WorkerConfig config;
    AgroalDataSource dataSource;
    try {
      config =
          new ObjectMapper().readValue(required(env, "ROBUSTO_WORKER_CONFIG"), WorkerConfig.class);
      dataSource = pool(env);
    } catch (Exception e) {
      System.err.println("worker: bad configuration: " + e.getMessage());
      return 2;
    }
    var name = env.getOrDefault("ROBUSTO_WORKER_NAME", "worker-" + ProcessHandle.current().pid());
    logToStandardError(name, env.get(WorkerEnvironment.TENANT), config);
    var health = new WorkerHealth(config, System::nanoTime);
    try {
      health.serve(
          Integer.parseInt(
              env.getOrDefault(
                  "ROBUSTO_WORKER_HEALTH_PORT", Integer.toString(WorkerHealth.DEFAULT_PORT))));
    } catch (java.io.IOException | NumberFormatException e) {
      System.err.println("worker: cannot serve its health port: " + e.getMessage());
      return 2;
    }
    var worker =
        new Worker(
            new WorkQueue(dataSource),
            config.newProcessor(),
            new SealedPayloads(
                dataSource, java.util.Optional.ofNullable(env.get("ROBUSTO_PAYLOAD_KEY"))),
            config,
            name,
            health);
    var main = Thread.currentThread();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    if (!worker.stop(STOP_GRACE)) {
                      main.interrupt();
                    }
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                }));
    try {
      var summary = worker.run();
      System.out.printf(
          "worker %s done with %s: %d succeeded, %d failed, %d retries scheduled,"
              + " %d outcomes fenced, %d items given back%n",
          name,
          config.fleet() == null
              ? "batch " + config.batchId()
              : "deployment %s revision %d"
                  .formatted(config.fleet().deployment(), config.fleet().revision()),
          summary.succeeded(),
          summary.failed(),
          summary.retried(),
          summary.fenced(),
          summary.released());
      return 0;
    } catch (java.sql.SQLException e) {
      var unavailable = DatabaseRetry.isTransient(e);
      System.err.printf(
          "worker %s: %s: %s%n",
          name,
          unavailable
              ? "database unavailable for " + Worker.DATABASE_PATIENCE.toMinutes() + " min"
              : "database error",
          e.getMessage());
      return unavailable ? EXIT_DATABASE_UNAVAILABLE : 1;
    }
  }

  /**
   * Two connections (the work loop and the heartbeat), opened once: SCRAM logins are slow. A
   * connection PostgreSQL dropped (a restart, a terminated session) is thrown away, not reused.
   */
  private static AgroalDataSource pool(Map<String, String> env) throws java.sql.SQLException {
    var url = required(env, "ROBUSTO_DATABASE_URL");
    var user = required(env, "ROBUSTO_DATABASE_USERNAME");
    var password = required(env, "ROBUSTO_DATABASE_PASSWORD");
    return AgroalDataSource.from(
        new AgroalDataSourceConfigurationSupplier()
            .connectionPoolConfiguration(
                pool ->
                    pool.maxSize(CONNECTIONS)
                        .exceptionSorter(new PostgreSQLExceptionSorter())
                        .connectionFactoryConfiguration(
                            factory ->
                                factory
                                    .jdbcUrl(url)
                                    .principal(new NamePrincipal(user))
                                    .credential(new SimplePassword(password)))));
  }

  private static String required(Map<String, String> env, String name) {
    var value = env.get(name);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(name + " is not set");
    }
    return value;
  }
}
