package dev.robusto.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The {@code command} processor: runs a program per item with the payload on standard input and the
 * key in ROBUSTO_ITEM_KEY (and ROBUSTO_ATTEMPT). Exit 0 succeeds; the sysexits data errors (64 to
 * 78, except 75 EX_TEMPFAIL) fail the item for good; anything else, and running past the item
 * timeout, is retried.
 *
 * <p>The program starts with a clean environment: only {@link #PASSED_ON} of the worker's, plus the
 * item's variables. Nothing of the worker's own (its database credentials above all) reaches it.
 */
public final class CommandProcessor implements ItemProcessor {

  private static final int EX_USAGE = 64;
  private static final int EX_CONFIG = 78;
  private static final int EX_TEMPFAIL = 75;

  /** The worker's variables a program may need to run at all; none of them is a secret. */
  static final Set<String> PASSED_ON =
      Set.of("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER");

  private final List<String> command;
  private final Duration timeout;
  private final Map<String, String> environment;

  public CommandProcessor(List<String> command, Duration timeout) {
    this(command, timeout, System.getenv());
  }

  /** With {@code workerEnvironment} standing for the worker's own environment. */
  CommandProcessor(List<String> command, Duration timeout, Map<String, String> workerEnvironment) {
    this.command = List.copyOf(command);
    this.timeout = timeout;
    this.environment = new HashMap<>(workerEnvironment);
    environment.keySet().retainAll(PASSED_ON);
  }

  @Override
  public Result process(String key, String payloadJson, int attempt) {
    Process process = null;
    try {
      var builder = new ProcessBuilder(command).redirectErrorStream(true);
      builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      builder.environment().clear();
      builder.environment().putAll(environment);
      builder.environment().put("ROBUSTO_ITEM_KEY", key);
      builder.environment().put("ROBUSTO_ATTEMPT", Integer.toString(attempt));
      process = builder.start();
      try (var stdin = process.getOutputStream()) {
        stdin.write(payloadJson.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        // A broken pipe: the program exited, or closed its input, without reading the payload.
        // Its exit code decides, as for any other program.
      }
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        return new Result(Verdict.RETRY, "command ran past the item timeout of " + timeout);
      }
      var exit = process.exitValue();
      if (exit == 0) {
        return Result.SUCCESS;
      }
      var permanent = exit >= EX_USAGE && exit <= EX_CONFIG && exit != EX_TEMPFAIL;
      return new Result(
          permanent ? Verdict.PERMANENT_FAILURE : Verdict.RETRY, "command exited with " + exit);
    } catch (IOException e) {
      return new Result(Verdict.RETRY, "command could not run: " + e.getMessage());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      return new Result(Verdict.RETRY, "interrupted");
    }
  }
}
