package dev.robusto.operator;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;

/**
 * The one clock reconcilers decide by (today's quota, when a measurement is due), so a test can
 * hand them any moment instead of waiting for it.
 */
public class Clocks {

  @Produces
  @Singleton
  Clock clock() {
    return Clock.systemUTC();
  }
}
