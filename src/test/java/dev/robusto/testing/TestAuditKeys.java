package dev.robusto.testing;

import dev.robusto.audit.AuditKeys;
import java.io.IOException;
import java.util.Properties;

/**
 * The test profile's audit seal keys ({@code %test.robusto.audit.seal-keys} in
 * application.properties), for tests that append to or verify the chain outside the operator.
 */
public final class TestAuditKeys {

  public static final String SPEC = load();
  public static final AuditKeys KEYS = AuditKeys.parse(SPEC);

  private TestAuditKeys() {}

  private static String load() {
    var properties = new Properties();
    try (var in = TestAuditKeys.class.getResourceAsStream("/application.properties")) {
      properties.load(in);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return properties.getProperty("%test.robusto.audit.seal-keys");
  }
}
