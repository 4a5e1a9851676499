package dev.robusto.flag;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class FractionalTest {

  @Test
  void everyTenantGetsTheVariantFlagdsFractionalGives() throws IOException {
    List<String> lines;
    try (var in = getClass().getClassLoader().getResourceAsStream("flagd-fractional-vectors.csv")) {
      lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().skip(1).toList();
    }
    assertThat(lines).hasSizeGreaterThan(1_000);
    for (var line : lines) {
      var fields = line.split(",", -1);
      var weights =
          Arrays.stream(fields[2].split(" "))
              .map(w -> w.split(":"))
              .map(w -> new Fractional.Weight(w[0], Integer.parseInt(w[1])))
              .toList();
      assertThat(Fractional.variant(fields[0], fields[1], weights)).as(line).isEqualTo(fields[3]);
    }
  }

  @Test
  void raisingAShareOnlyAddsTenants() {
    var tenants = IntStream.range(0, 2_000).mapToObj(i -> "tenant-" + i).toList();
    var at10 = enabled(tenants, 10);
    var at20 = enabled(tenants, 20);
    assertThat(at20).containsAll(at10);
    assertThat(at10.size()).isBetween(150, 250);
    assertThat(at20.size()).isBetween(340, 460);
  }

  @Test
  void noPositiveWeightMeansNoVariant() {
    assertThat(Fractional.variant("f", "t", List.of(new Fractional.Weight("on", 0)))).isNull();
  }

  private static List<String> enabled(List<String> tenants, int percent) {
    var weights =
        List.of(new Fractional.Weight("on", percent), new Fractional.Weight("off", 100 - percent));
    var result = new ArrayList<String>();
    for (var t : tenants) {
      if ("on".equals(Fractional.variant("captcha-solving", t, weights))) {
        result.add(t);
      }
    }
    return result;
  }
}
