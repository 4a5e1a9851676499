package dev.robusto.operator;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import java.io.InterruptedIOException;
import java.sql.SQLException;
import java.util.concurrent.TimeoutException;

/**
 * What kind of failure stopped a reconcile, the same for every resource: a condition reason alerts
 * can match on ({@code DatabaseUnavailable}, {@code ApiTimeout}, ...), and a detail a person can
 * act on, free of anything secret (HTTP status and the API server's message, PostgreSQL's message).
 */
public final class ReconcileErrors {

  /** Condition messages are kept short enough for kubectl describe. */
  public static final int MAX_MESSAGE = 1024;

  private ReconcileErrors() {}

  /** A condition reason for an error: what kind of failure, so alerts can match on it. */
  public static String reason(Throwable error) {
    for (var cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof AggregatedOperatorException aggregated
          && !aggregated.getAggregatedExceptions().isEmpty()) {
        return reason(aggregated.getAggregatedExceptions().values().iterator().next());
      }
      if (cause instanceof TimeoutException || cause instanceof InterruptedIOException) {
        return "ApiTimeout";
      }
      if (cause instanceof SQLException sql) {
        // SQLSTATE class 08: the connection failed.
        return sql.getSQLState() != null && sql.getSQLState().startsWith("08")
            ? "DatabaseUnavailable"
            : "DatabaseError";
      }
      if (cause instanceof KubernetesClientException kce && kce.getCode() > 0) {
        return switch (kce.getCode()) {
          case 409 -> "ApiConflict";
          case 422, 400 -> "Invalid";
          case 403 -> "Forbidden";
          case 429 -> "ApiThrottled";
          default -> kce.getCode() >= 500 ? "ApiServerError" : "ApiError";
        };
      }
    }
    return "ReconcileError";
  }

  public static String detail(Throwable error) {
    for (var cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof KubernetesClientException kce && kce.getCode() > 0) {
        var status = kce.getStatus();
        var message = status != null && status.getMessage() != null ? status.getMessage() : "";
        return "HTTP " + kce.getCode() + (message.isEmpty() ? "" : " " + message);
      }
      if (cause instanceof TimeoutException || cause instanceof InterruptedIOException) {
        return "the API server did not answer in time";
      }
      if (cause instanceof SQLException sql) {
        return database(sql);
      }
    }
    // The operator's own refusals (a name taken, a revision gone: an IllegalStateException of its
    // own, with no cause) say what to do, wherever the framework wrapped them; others are named by
    // their kind only, since their text may carry anything.
    for (var cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof IllegalStateException && cause.getCause() == null) {
        return cause.getMessage();
      }
    }
    return error.getClass().getSimpleName();
  }

  /**
   * What PostgreSQL said, without what could leak: its address (on a connection failure) and the
   * rows or keys the server's detail may quote. The operator's log has the full error.
   */
  private static String database(SQLException sql) {
    var state = sql.getSQLState() == null ? "" : " (SQLSTATE " + sql.getSQLState() + ")";
    if (sql.getSQLState() != null && sql.getSQLState().startsWith("08")) {
      return "PostgreSQL cannot be reached" + state;
    }
    var server =
        sql instanceof org.postgresql.util.PSQLException psql ? psql.getServerErrorMessage() : null;
    return server == null || server.getMessage() == null
        ? "PostgreSQL refused the operation" + state
        : "PostgreSQL: " + server.getMessage() + state;
  }

  /** The message of a Ready condition after a failed reconcile. */
  public static String retrying(Throwable error) {
    return truncate("Cannot reconcile (retried with backoff): " + detail(error));
  }

  /** A condition message short enough for kubectl describe. */
  public static String truncate(String message) {
    return message.length() <= MAX_MESSAGE ? message : message.substring(0, MAX_MESSAGE - 1) + "…";
  }
}
