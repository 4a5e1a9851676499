package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateLimiterTest {

  @Test
  void callsAreSpacedToTheRateNeverFaster() throws Exception {
    var limiter = new RateLimiter(240); // one every 250 ms
    var start = System.nanoTime();
    for (int i = 0; i < 5; i++) {
      limiter.acquire();
    }
    assertThat((System.nanoTime() - start) / 1_000_000)
        .as("five calls at 240 a minute span at least four intervals")
        .isGreaterThanOrEqualTo(1_000);
  }

  @Test
  void zeroMeansUnlimited() throws Exception {
    var limiter = new RateLimiter(0);
    var start = System.nanoTime();
    for (int i = 0; i < 10_000; i++) {
      limiter.acquire();
    }
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1_000);
  }
}
