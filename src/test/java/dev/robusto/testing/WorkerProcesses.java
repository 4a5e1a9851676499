package dev.robusto.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** The worker role as real JVM processes, logging under target/worker-logs. */
public final class WorkerProcesses {

  /** Where tests' worker processes (and the local node's) write their output. */
  public static final Path LOGS = Path.of("target", "worker-logs");

  private WorkerProcesses() {}

  public static Process start(Map<String, String> env, String name) throws IOException {
    return dev.robusto.localnode.WorkerProcesses.start(env, name, LOGS);
  }
}
