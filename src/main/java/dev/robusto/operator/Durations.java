package dev.robusto.operator;

import java.time.Duration;
import java.util.regex.Pattern;

/** Go-style durations as the CRD accepts them (500ms, 30s, 5m, 1h30m). */
public final class Durations {

  private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h)");

  private Durations() {}

  public static Duration parse(String text) {
    var matcher = PART.matcher(text);
    var total = Duration.ZERO;
    var end = 0;
    while (matcher.find() && matcher.start() == end) {
      var amount = Long.parseLong(matcher.group(1));
      total =
          total.plus(
              switch (matcher.group(2)) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                default -> Duration.ofHours(amount);
              });
      end = matcher.end();
    }
    if (end == 0 || end != text.length()) {
      throw new IllegalArgumentException("'" + text + "' is not a duration like 30s or 1h30m");
    }
    return total;
  }
}
