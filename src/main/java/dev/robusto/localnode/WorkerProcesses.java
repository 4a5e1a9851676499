package dev.robusto.localnode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Starts the worker role as real JVM processes with this process's classpath: what a worker pod
 * runs, minus the container. Each one's output goes to {@code <name>.log} in a log folder.
 */
public final class WorkerProcesses {

  private WorkerProcesses() {}

  public static Process start(Map<String, String> env, String name, Path logs) throws IOException {
    Files.createDirectories(logs);
    var java = ProcessHandle.current().info().command().orElse("java");
    var builder =
        new ProcessBuilder(
                List.of(
                    java,
                    "-Xmx96m",
                    "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC",
                    "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                    "-cp",
                    System.getProperty("java.class.path"),
                    "dev.robusto.worker.WorkerMain"))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve(name + ".log").toFile()));
    builder.environment().putAll(env);
    builder.environment().put("ROBUSTO_WORKER_NAME", name);
    // Pods have a network namespace each; processes on one machine take any free health port.
    builder.environment().put("ROBUSTO_WORKER_HEALTH_PORT", "0");
    return builder.start();
  }
}
