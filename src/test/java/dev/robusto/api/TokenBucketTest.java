package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TokenBucketTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void aBurstIsServedThenOneRequestPerRefill() {
    var bucket = new TokenBucket(10, 20, 0);
    for (var i = 0; i < 20; i++) {
      assertThat(bucket.take(0)).as("request %d of the burst", i).isZero();
    }
    assertThat(bucket.take(0)).as("the 21st waits a tenth of a second").isEqualTo(SECOND / 10);
    assertThat(bucket.take(SECOND / 10)).as("and is served then").isZero();
    assertThat(bucket.take(SECOND / 10)).isPositive();
  }

  @Test
  void anIdleBucketFillsUpToItsBurstAndNoMore() {
    var bucket = new TokenBucket(10, 20, 0);
    for (var i = 0; i < 20; i++) {
      bucket.take(0);
    }
    var later = 3600 * SECOND;
    for (var i = 0; i < 20; i++) {
      assertThat(bucket.take(later)).isZero();
    }
    assertThat(bucket.take(later)).isPositive();
  }
}
