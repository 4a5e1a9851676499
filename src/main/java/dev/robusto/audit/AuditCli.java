package dev.robusto.audit;

import java.io.PrintStream;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;

/**
 * {@code audit verify} from the command line (hack/audit-verify), straight against PostgreSQL, so
 * it works while the operator is down. Connection from QUARKUS_DATASOURCE_JDBC_URL, _USERNAME and
 * _PASSWORD, as the operator's; the anchor from ROBUSTO_AUDIT_ANCHOR_SEQ and _HASH when known; the
 * seal keys from ROBUSTO_AUDIT_SEAL_KEYS (the chart's audit seal Secret), without which seals are
 * not checked, and ROBUSTO_AUDIT_SEALED_FROM as the chart's audit.sealedFrom. Exit code: 0 intact,
 * 1 broken, 2 usage or connection error.
 */
public final class AuditCli {

  private AuditCli() {}

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.out, System.err));
  }

  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    if (args.length != 2 || !args[0].equals("audit") || !args[1].equals("verify")) {
      err.println("usage: audit verify");
      return 2;
    }
    var url = env.get("QUARKUS_DATASOURCE_JDBC_URL");
    if (url == null) {
      err.println(
          "Set QUARKUS_DATASOURCE_JDBC_URL, _USERNAME and _PASSWORD to the operator's database.");
      return 2;
    }
    AuditAnchor anchor = null;
    if (env.get("ROBUSTO_AUDIT_ANCHOR_SEQ") != null) {
      anchor =
          new AuditAnchor(
              Long.parseLong(env.get("ROBUSTO_AUDIT_ANCHOR_SEQ")),
              env.get("ROBUSTO_AUDIT_ANCHOR_HASH"));
    }
    AuditKeys keys;
    try {
      keys =
          AuditKeys.parse(env.get("ROBUSTO_AUDIT_SEAL_KEYS"))
              .sealedFrom(Long.parseLong(env.getOrDefault("ROBUSTO_AUDIT_SEALED_FROM", "1")));
    } catch (IllegalArgumentException e) {
      err.println(
          e.getMessage()
              .replace("robusto.audit.seal-keys", "ROBUSTO_AUDIT_SEAL_KEYS")
              .replace("robusto.audit.sealed-from", "ROBUSTO_AUDIT_SEALED_FROM"));
      return 2;
    }
    try (var connection =
        DriverManager.getConnection(
            url, env.get("QUARKUS_DATASOURCE_USERNAME"), env.get("QUARKUS_DATASOURCE_PASSWORD"))) {
      var result = AuditVerifier.verify(connection, keys, anchor);
      var against =
          (anchor == null ? "no anchor given" : "anchor at row " + anchor.seq())
              + (keys.sealing()
                  ? ", seals under " + String.join(", ", keys.ids())
                  : ", seals not checked (no ROBUSTO_AUDIT_SEAL_KEYS)");
      if (result.intact()) {
        out.printf(
            "audit chain intact: %d rows verified in %d ms (%.0f rows/s), %s%n",
            result.rows(), result.millis(), result.rowsPerSecond(), against);
        return 0;
      }
      out.printf(
          "audit chain BROKEN at row %d: %s (%d rows read, %s)%n",
          result.firstBrokenSeq(), result.problem(), result.rows(), against);
      return 1;
    } catch (SQLException e) {
      err.println("Cannot verify: " + e.getMessage());
      return 2;
    }
  }
}
