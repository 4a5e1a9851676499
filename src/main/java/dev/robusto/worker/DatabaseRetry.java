package dev.robusto.worker;

import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Carries a worker through a database blip (a restart, a failover, its sessions ended by the
 * operator): a call that fails for a reason that passes is tried again with backoff, for up to
 * {@code patience}; anything else fails at once. Retrying is safe because every outcome is fenced
 * by its claim's token: a repeated success or failure of a claim the first try already recorded
 * changes nothing.
 */
final class DatabaseRetry {

  /** A database call. */
  interface Call<T> {
    T run() throws SQLException;
  }

  private static final Logger LOG = Logger.getLogger(DatabaseRetry.class);
  private static final Duration FIRST_PAUSE = Duration.ofMillis(100);
  private static final Duration LONGEST_PAUSE = Duration.ofSeconds(5);

  /**
   * SQLSTATEs that pass: the server shutting down or not yet up, too many connections, a
   * serialization failure or deadlock, a lock not granted in time. Class 08 (connection) too.
   */
  private static final Set<String> TRANSIENT_STATES =
      Set.of("57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03");

  private final Duration patience;

  DatabaseRetry(Duration patience) {
    this.patience = patience;
  }

  <T> T call(String what, Call<T> call) throws SQLException, InterruptedException {
    var giveUpAt = System.nanoTime() + patience.toNanos();
    var pause = FIRST_PAUSE;
    while (true) {
      try {
        return call.run();
      } catch (SQLException e) {
        if (!isTransient(e) || System.nanoTime() + pause.toNanos() > giveUpAt) {
          throw e;
        }
        LOG.warnf(
            "%s failed (SQLSTATE %s: %s); trying again in %d ms",
            what, e.getSQLState(), e.getMessage(), pause.toMillis());
        Thread.sleep(pause.toMillis());
        pause =
            pause.multipliedBy(2).compareTo(LONGEST_PAUSE) > 0
                ? LONGEST_PAUSE
                : pause.multipliedBy(2);
      }
    }
  }

  static boolean isTransient(SQLException error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        var state = sql.getSQLState();
        if (state.startsWith("08") || TRANSIENT_STATES.contains(state)) {
          return true;
        }
      }
    }
    return false;
  }
}
