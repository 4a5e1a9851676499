package dev.robusto.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.batch.BatchStore;
import dev.robusto.operator.ReconcileErrors;
import dev.robusto.queue.WorkQueue;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.sse.Sse;
import jakarta.ws.rs.sse.SseEventSink;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A batch's progress as Server-Sent Events, for the batch API and the ticket API's job streams. The
 * event id is the number of finished tickets; a client reconnecting with {@code Last-Event-ID} gets
 * only newer progress. A stream ends with a {@code done} event when the batch finishes, or after
 * {@link #STREAM_LIMIT} (reconnect to go on), and counts against the caller's stream caps.
 */
@ApplicationScoped
public class BatchEvents {

  static final Duration STREAM_LIMIT = Duration.ofMinutes(10);
  static final Duration REAUTHORIZE = Duration.ofSeconds(30);
  private static final Duration KEEPALIVE = Duration.ofSeconds(15);
  private static final Duration POLL = Duration.ofMillis(500);
  private static final String RESOURCE = "automationbatches";

  /** Polls in a row that may fail (5 s) before a stream ends. */
  private static final int FAILURES_BEFORE_ENDING = 10;

  private static final org.jboss.logging.Logger LOG =
      org.jboss.logging.Logger.getLogger(BatchEvents.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubeAuth auth;
  private final CallerLimits limits;
  private final BatchStore store;
  private final WorkQueue queue;
  private final ScheduledExecutorService streams =
      Executors.newScheduledThreadPool(
          2,
          r -> {
            var t = new Thread(r, "batch-events");
            t.setDaemon(true);
            return t;
          });

  BatchEvents(KubeAuth auth, CallerLimits limits, BatchStore store, WorkQueue queue) {
    this.auth = auth;
    this.limits = limits;
    this.store = store;
    this.queue = queue;
  }

  /**
   * Streams batch {@code name}'s progress to {@code sink} for {@code caller}, whose access (get on
   * automationbatches in the namespace) was checked and is checked again every {@link
   * #REAUTHORIZE}.
   */
  void open(
      String namespace,
      String name,
      String authorization,
      String caller,
      String lastEventId,
      SseEventSink sink,
      Sse sse) {
    limits.openStream(caller);
    var stream =
        new EventStream(namespace, name, parseId(lastEventId), authorization, caller, sink, sse);
    stream.future =
        streams.scheduleWithFixedDelay(stream, 0, POLL.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * One client's stream: polls the batch and sends each new snapshot newer than its resume id. The
   * caller's token and access are checked again every {@link #REAUTHORIZE}: a revoked token or
   * RoleBinding ends the stream.
   */
  private final class EventStream implements Runnable {
    private final String namespace;
    private final String name;
    private final long resumeAfter;
    private final String authorization;
    private final String caller;
    private final SseEventSink sink;
    private final Sse sse;
    private final long deadline = System.nanoTime() + STREAM_LIMIT.toNanos();
    private long authorizedAt = System.nanoTime();
    private long sentAt = System.nanoTime();
    private String lastSnapshot;
    private boolean ended;
    private int failures;
    private volatile ScheduledFuture<?> future;

    EventStream(
        String namespace,
        String name,
        long resumeAfter,
        String authorization,
        String caller,
        SseEventSink sink,
        Sse sse) {
      this.namespace = namespace;
      this.name = name;
      this.resumeAfter = resumeAfter;
      this.authorization = authorization;
      this.caller = caller;
      this.sink = sink;
      this.sse = sse;
    }

    @Override
    public void run() {
      if (ended) {
        // Ended on its first run, before its future was known: this stops the repetition.
        throw new java.util.concurrent.CancellationException("stream ended");
      }
      try {
        if (System.nanoTime() - authorizedAt > REAUTHORIZE.toNanos()) {
          auth.recheck(authorization, "get", RESOURCE, namespace);
          authorizedAt = System.nanoTime();
        }
        var row = store.find(namespace, name);
        if (sink.isClosed() || row.isEmpty() || System.nanoTime() > deadline) {
          end();
          return;
        }
        var counts = queue.counts(row.get().batchId());
        var snapshot = JSON.writeValueAsString(new Progress(row.get().phase(), counts));
        // Never goes down: a redrive moves tickets from dead-lettered to redriven.
        var finished = counts.finished() + counts.redriven();
        var id = Long.toString(finished);
        if (finished > resumeAfter && !snapshot.equals(lastSnapshot)) {
          sink.send(event("progress", id, snapshot));
          lastSnapshot = snapshot;
          sentAt = System.nanoTime();
        } else if (System.nanoTime() - sentAt > KEEPALIVE.toNanos()) {
          // A comment line: a client that went away is found out, and its slot freed.
          sink.send(sse.newEventBuilder().comment("keepalive").build());
          sentAt = System.nanoTime();
        }
        if (row.get().completed()) {
          sink.send(event("done", id, snapshot));
          end();
        }
        failures = 0;
      } catch (jakarta.ws.rs.WebApplicationException refused) {
        end(); // the caller lost its access (token or RoleBinding revoked)
      } catch (SQLException | JsonProcessingException | RuntimeException e) {
        // A database hiccup skips a poll; one that lasts ends the stream, and the client
        // reconnects with Last-Event-ID (and is checked again).
        LOG.warnf("Progress stream of batch %s/%s: %s", namespace, name, ReconcileErrors.detail(e));
        if (++failures >= FAILURES_BEFORE_ENDING) {
          end();
        }
      }
    }

    private jakarta.ws.rs.sse.OutboundSseEvent event(String type, String id, String data) {
      return sse.newEventBuilder()
          .name(type)
          .id(id)
          .mediaType(MediaType.APPLICATION_JSON_TYPE)
          .data(data)
          .build();
    }

    /** Runs on the stream's single scheduled task, so at most once at a time. */
    private void end() {
      if (ended) {
        return;
      }
      ended = true;
      limits.closeStream(caller);
      sink.close();
      var f = future;
      if (f != null) {
        f.cancel(false);
      }
    }
  }

  /** One progress event: the phase and the counts. */
  public record Progress(String phase, WorkQueue.Counts counts) {}

  @PreDestroy
  void stop() {
    streams.shutdownNow();
  }

  private static long parseId(String lastEventId) {
    try {
      return lastEventId == null ? -1 : Long.parseLong(lastEventId.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
