package dev.robusto.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The threads a test starts, whose failures fail the test: an exception in one is rethrown by
 * {@link #check()} and {@link #join()}, never lost with the thread.
 */
public final class TestThreads implements AutoCloseable {

  /** A thread's body; it may throw anything. */
  @FunctionalInterface
  public interface Body {
    void run() throws Exception;
  }

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<Future<?>> running = new ArrayList<>();

  public void start(Body body) {
    running.add(
        executor.submit(
            () -> {
              body.run();
              return null;
            }));
  }

  /** Fails at once if a thread has failed so far. */
  public void check() throws Exception {
    for (var future : running) {
      if (future.isDone()) {
        result(future);
      }
    }
  }

  /** Waits for every thread; fails with the first failure. */
  public void join() throws Exception {
    for (var future : running) {
      result(future);
    }
  }

  private static void result(Future<?> future) throws Exception {
    try {
      future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw new AssertionError("A test thread failed", e.getCause());
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
