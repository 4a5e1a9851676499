package dev.robusto.operator;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * What {@code helm test} runs (the chart's install-check Pod, in the operator's image): the
 * operator answers through its Service, ready (PostgreSQL and the informers) and serving OFREP (an
 * evaluation without a token is refused with 401, as OFREP says). Exit 0 when both hold; 1 with
 * what to look at otherwise; 2 on a bad argument.
 */
public final class InstallCheck {

  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final int TRIES = 6;
  private static final Duration BETWEEN_TRIES = Duration.ofSeconds(5);

  private InstallCheck() {}

  public static void main(String[] args) throws InterruptedException {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) throws InterruptedException {
    return run(args, out, err, TRIES, BETWEEN_TRIES);
  }

  static int run(String[] args, PrintStream out, PrintStream err, int tries, Duration between)
      throws InterruptedException {
    if (args.length != 1 || !args[0].matches("^https?://[^/\\s]+$")) {
      err.println("usage: InstallCheck http://<service>.<namespace>.svc:8080");
      return 2;
    }
    var base = args[0];
    var http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    String problem = null;
    for (var attempt = 1; attempt <= tries; attempt++) {
      problem = check(http, base);
      if (problem == null) {
        out.println("ok: " + base + " is ready and serves OFREP");
        return 0;
      }
      err.printf("attempt %d of %d: %s%n", attempt, tries, problem);
      if (attempt < tries) {
        Thread.sleep(between.toMillis());
      }
    }
    err.println(
        "The operator does not answer as installed. Look at its pods' readiness and logs"
            + " (kubectl get pods,events -l app.kubernetes.io/name=robusto-operator; kubectl logs"
            + " deploy/<release>-robusto-operator): PostgreSQL reachable, database.* values,"
            + " networkPolicy.ingressFrom.");
    return 1;
  }

  /** What is wrong with the operator at {@code base}, or null when nothing is. */
  private static String check(HttpClient http, String base) throws InterruptedException {
    try {
      var ready =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/q/health/ready")).timeout(TIMEOUT).build(),
              HttpResponse.BodyHandlers.ofString());
      if (ready.statusCode() != 200 || !ready.body().contains("\"UP\"")) {
        return "/q/health/ready answered %d: %s".formatted(ready.statusCode(), ready.body());
      }
      var ofrep =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/ofrep/v1/evaluate/flags"))
                  .timeout(TIMEOUT)
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"context\": {\"targetingKey\": \"install-check\"}}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (ofrep.statusCode() != 401) {
        return "OFREP answered %d without a token, not 401: %s"
            .formatted(ofrep.statusCode(), ofrep.body());
      }
      return null;
    } catch (IOException e) {
      return "cannot reach " + base + ": " + e;
    }
  }
}
