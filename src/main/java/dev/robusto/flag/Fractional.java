package dev.robusto.flag;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Percentage rollout with the assignment flagd's {@code fractional} operation gives: the bucket of
 * a tenant is murmur3 (x86, 32-bit, seed 0) of the flag key followed by the tenant, as
 * |int32(hash)| / MaxInt32 * 100, and the variant is the first whose cumulative weight percentage
 * exceeds it. A tenant's bucket never changes, so raising a variant's share from 10 % to 20 % only
 * adds tenants to it. Checked against vectors from an independent Go implementation
 * (hack/flagd-vectors).
 */
public final class Fractional {

  /** A variant and its weight (weights are relative; they need not add up to 100). */
  public record Weight(String variant, int weight) {}

  private Fractional() {}

  /** The tenant's variant, or null when no weight is positive. */
  public static String variant(String flagKey, String tenant, List<Weight> weights) {
    var total = 0L;
    for (var w : weights) {
      total += w.weight();
    }
    if (total <= 0) {
      return null;
    }
    var bucket = bucket(flagKey + tenant);
    var rangeEnd = 0.0;
    for (var w : weights) {
      rangeEnd += (double) w.weight() / total * 100;
      if (bucket < rangeEnd) {
        return w.variant();
      }
    }
    return null;
  }

  /** The value's bucket in [0, 100]. */
  static double bucket(String value) {
    var hash = murmur3x86x32(value.getBytes(StandardCharsets.UTF_8));
    return Math.abs((double) hash) / Integer.MAX_VALUE * 100;
  }

  /** MurmurHash3 x86 32-bit with seed 0, as Go's murmur3.Sum32. */
  static int murmur3x86x32(byte[] data) {
    final int c1 = 0xcc9e2d51;
    final int c2 = 0x1b873593;
    var h = 0;
    var blocks = data.length / 4;
    for (var i = 0; i < blocks; i++) {
      var k =
          (data[4 * i] & 0xff)
              | (data[4 * i + 1] & 0xff) << 8
              | (data[4 * i + 2] & 0xff) << 16
              | (data[4 * i + 3] & 0xff) << 24;
      k *= c1;
      k = Integer.rotateLeft(k, 15);
      k *= c2;
      h ^= k;
      h = Integer.rotateLeft(h, 13);
      h = h * 5 + 0xe6546b64;
    }
    var k = 0;
    var tail = blocks * 4;
    switch (data.length & 3) {
      case 3:
        k ^= (data[tail + 2] & 0xff) << 16;
      // fall through
      case 2:
        k ^= (data[tail + 1] & 0xff) << 8;
      // fall through
      case 1:
        k ^= data[tail] & 0xff;
        k *= c1;
        k = Integer.rotateLeft(k, 15);
        k *= c2;
        h ^= k;
        break;
      default:
        break;
    }
    h ^= data.length;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }
}
