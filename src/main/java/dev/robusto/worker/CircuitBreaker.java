package dev.robusto.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * One endpoint's circuit: it opens after a run of consecutive failures, refuses calls while open,
 * and after the cool-down lets one trial call through (half-open): a success closes it, a failure
 * opens it again. Keeps a failing merchant portal from being hammered by every worker.
 */
public final class CircuitBreaker {

  public static final int DEFAULT_FAILURES = 5;
  public static final Duration DEFAULT_COOL_DOWN = Duration.ofSeconds(60);

  private final int failuresToOpen;
  private final Duration coolDown;
  private final Clock clock;
  private int consecutiveFailures;
  private Instant openedAt;
  private boolean trialInFlight;

  public CircuitBreaker(int failuresToOpen, Duration coolDown, Clock clock) {
    this.failuresToOpen = failuresToOpen;
    this.coolDown = coolDown;
    this.clock = clock;
  }

  /** Whether a call may go out now; while half-open, only one trial at a time. */
  public synchronized boolean allow() {
    if (openedAt == null) {
      return true;
    }
    if (clock.instant().isBefore(openedAt.plus(coolDown)) || trialInFlight) {
      return false;
    }
    trialInFlight = true;
    return true;
  }

  public synchronized void success() {
    consecutiveFailures = 0;
    openedAt = null;
    trialInFlight = false;
  }

  public synchronized void failure() {
    consecutiveFailures++;
    if (trialInFlight || consecutiveFailures >= failuresToOpen) {
      openedAt = clock.instant();
    }
    trialInFlight = false;
  }

  /** A call that says nothing of the endpoint (no credential to send): frees a trial's slot. */
  public synchronized void release() {
    trialInFlight = false;
  }

  public synchronized boolean isOpen() {
    return openedAt != null;
  }
}
