package dev.robusto.testing;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;

/** Builds a config mapping from the operator's real application.properties, for unit tests. */
public final class ConfigFromProperties {

  private ConfigFromProperties() {}

  public static <T> T mapping(Class<T> type) {
    try {
      var source =
          new PropertiesConfigSource(
              ConfigFromProperties.class.getResource("/application.properties"), 100);
      // Quarkus gives the datasource URL at run time; unit tests have none.
      var runtime =
          new io.smallrye.config.PropertiesConfigSource(
              java.util.Map.of(
                  "quarkus.datasource.jdbc.url", "jdbc:postgresql://unit-test/robusto"),
              "unit-test",
              50);
      return new SmallRyeConfigBuilder()
          .withSources(source, runtime)
          .withMapping(type)
          .build()
          .getConfigMapping(type);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
