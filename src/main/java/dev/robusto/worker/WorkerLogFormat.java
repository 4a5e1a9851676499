package dev.robusto.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;
import org.jboss.logging.MDC;
import org.jboss.logmanager.ExtLogRecord;

/**
 * A worker's log lines as JSON, one object a line, for the cluster's log shipper: time, level,
 * logger, message, the worker (its pod), its tenant, what it works on (batch, or fleet and
 * revision) and, on lines about one ticket, the ticket's key. Nothing else: never a payload, a
 * portal's answer or a credential. The tenant's own code runs in its pods and can write any line:
 * what must be sure of the tenant keys on the pod's namespace, which the log shipper adds.
 */
final class WorkerLogFormat extends Formatter {

  /** The log context key of the ticket a line is about. */
  static final String TICKET = "ticket";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Object> context;

  WorkerLogFormat(String worker, String tenant, WorkerConfig config) {
    var fields = new LinkedHashMap<String, Object>();
    fields.put("worker", worker);
    if (tenant != null) {
      fields.put("tenant", tenant);
    }
    if (config.fleet() == null) {
      fields.put("batch", String.valueOf(config.batchId()));
    } else {
      fields.put("deployment", config.fleet().deployment());
      fields.put("revision", config.fleet().revision());
    }
    this.context = Map.copyOf(fields);
  }

  @Override
  public String format(LogRecord record) {
    var line = new LinkedHashMap<String, Object>();
    line.put("timestamp", Instant.ofEpochMilli(record.getMillis()).toString());
    line.put("level", record.getLevel().getName());
    line.put("loggerName", record.getLoggerName());
    // JBoss Logging's infof() lines carry printf patterns, which only its own record formats.
    line.put(
        "message",
        record instanceof ExtLogRecord ext ? ext.getFormattedMessage() : formatMessage(record));
    line.putAll(context);
    var ticket = MDC.get(TICKET);
    if (ticket != null) {
      line.put(TICKET, ticket);
    }
    if (record.getThrown() != null) {
      line.put("exception", record.getThrown().getClass().getName());
    }
    try {
      return JSON.writeValueAsString(line) + System.lineSeparator();
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return "{\"level\":\"ERROR\",\"message\":\"unformattable log record\"}"
          + System.lineSeparator();
    }
  }
}
