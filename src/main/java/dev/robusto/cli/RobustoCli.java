package dev.robusto.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code robusto} (and {@code kubectl robusto}, through hack/kubectl-robusto): Robusto for people.
 * Resources are read and written with the user's kubeconfig; the operator's APIs (batch progress,
 * OFREP, audit verification) are called at {@code --operator} with a bearer token: {@code --token},
 * else ROBUSTO_TOKEN, else the kubeconfig's. Exit codes: 0 done, 1 refused or failed (the message
 * says what to do), 2 bad usage.
 */
@Command(
    name = "robusto",
    mixinStandardHelpOptions = true,
    version = "robusto 0.1.0",
    description = "Tenants, batches, fleets, flags and the audit trail of a Robusto platform.")
public final class RobustoCli implements Runnable {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @Option(
      names = "--operator",
      scope = CommandLine.ScopeType.INHERIT,
      description =
          "The operator's HTTP URL (env ROBUSTO_OPERATOR_URL; default http://127.0.0.1:8080, as"
              + " hack/run-local or a port-forward serve it).")
  String operator;

  @Option(
      names = "--token",
      scope = CommandLine.ScopeType.INHERIT,
      description =
          "Bearer token for the operator's APIs (env ROBUSTO_TOKEN; default your kubeconfig's).")
  String token;

  final PrintStream out;
  final PrintStream err;
  private final Map<String, String> env;
  private final Supplier<KubernetesClient> kubernetes;
  private KubernetesClient client;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

  RobustoCli(
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      Supplier<KubernetesClient> kubernetes) {
    this.env = env;
    this.out = out;
    this.err = err;
    this.kubernetes = kubernetes;
  }

  public static void main(String[] args) {
    var code =
        run(
            args,
            System.getenv(),
            System.out,
            System.err,
            () -> new KubernetesClientBuilder().build());
    System.exit(code);
  }

  static int run(
      String[] args,
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      Supplier<KubernetesClient> kubernetes) {
    var root = new RobustoCli(env, out, err, kubernetes);
    var line =
        new CommandLine(root)
            .addSubcommand(new StatusCommand(root))
            .addSubcommand(new BatchCommand(root))
            .addSubcommand(new FleetCommand(root))
            .addSubcommand(new FlagCommand(root))
            .addSubcommand(new AuditCommand(root))
            .addSubcommand(new TenantCommand(root));
    line.setOut(new java.io.PrintWriter(out, true));
    line.setErr(new java.io.PrintWriter(err, true));
    line.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          err.println(
              "robusto: "
                  + (e instanceof CliException || e.getMessage() != null
                      ? e.getMessage()
                      : e.toString()));
          return 1;
        });
    try {
      return line.execute(args);
    } finally {
      if (root.client != null) {
        root.client.close();
      }
    }
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        new CommandLine(this),
        "name a command: status, batch, fleet, flag, audit or tenant (see --help)");
  }

  /** What went wrong, in words that say what to do: printed as is, exit code 1. */
  static final class CliException extends RuntimeException {
    CliException(String message) {
      super(message);
    }
  }

  KubernetesClient kubernetes() {
    if (client == null) {
      client = kubernetes.get();
    }
    return client;
  }

  /** The namespace given, else the kubeconfig context's, else default. */
  String namespace(String given) {
    if (given != null) {
      return given;
    }
    var current = kubernetes().getNamespace();
    return current == null ? "default" : current;
  }

  private String operatorUrl() {
    var url = operator != null ? operator : env.getOrDefault("ROBUSTO_OPERATOR_URL", "");
    return (url.isBlank() ? "http://127.0.0.1:8080" : url).replaceAll("/+$", "");
  }

  private String bearer() {
    if (token != null && !token.isBlank()) {
      return token;
    }
    var fromEnv = env.get("ROBUSTO_TOKEN");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    var config = kubernetes().getConfiguration();
    var fromKubeconfig =
        config.getOauthToken() != null ? config.getOauthToken() : config.getAutoOAuthToken();
    var url = URI.create(operatorUrl());
    if (fromKubeconfig != null
        && "http".equals(url.getScheme())
        && !java.util.Set.of("127.0.0.1", "localhost", "[::1]").contains(url.getHost())) {
      // The kubeconfig's token is often an admin's: never sent in the clear off this machine.
      throw new CliException(
          "Refusing to send your kubeconfig's token over plain http to "
              + operatorUrl()
              + ": port-forward the operator to 127.0.0.1, use https, or pass --token with a"
              + " token meant for it.");
    }
    if (fromKubeconfig == null || fromKubeconfig.isBlank()) {
      throw new CliException(
          "The operator's APIs need a bearer token and your kubeconfig has none (it may use a"
              + " client certificate): pass --token \"$(kubectl create token <serviceaccount> -n"
              + " <namespace>)\" or set ROBUSTO_TOKEN.");
    }
    return fromKubeconfig;
  }

  /** GET or POST (with a JSON body) to the operator; the answer, whatever its status. */
  HttpResponse<String> call(String method, String path, String body) {
    var request =
        HttpRequest.newBuilder(URI.create(operatorUrl() + path))
            .timeout(TIMEOUT)
            .header("Authorization", "Bearer " + bearer())
            .header("Accept", "application/json");
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    request.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A server-sent event stream from the operator, line by line. */
  HttpResponse<java.util.stream.Stream<String>> stream(String path) {
    var request =
        HttpRequest.newBuilder(URI.create(operatorUrl() + path))
            .header("Authorization", "Bearer " + bearer())
            .header("Accept", "text/event-stream")
            .build();
    return send(request, HttpResponse.BodyHandlers.ofLines());
  }

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw new CliException(
          "Cannot reach the operator at %s (%s). Port-forward it (kubectl -n robusto-system"
                  .formatted(operatorUrl(), e.getClass().getSimpleName())
              + " port-forward svc/robusto-operator 8080:8080) or pass --operator URL.");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }

  /** The operator's refusal as the user should read it: its message and what to do. */
  CliException refused(HttpResponse<?> response, String body) {
    var status = response.statusCode();
    var message = messageOf(body);
    if (status == 401) {
      return new CliException(
          "The operator refused the token (401): it has expired or is not a Kubernetes token. Get a"
              + " fresh one: kubectl create token <serviceaccount> -n <namespace>.");
    }
    return new CliException("The operator answered %d: %s".formatted(status, message));
  }

  static String messageOf(String body) {
    try {
      var json = JSON.readTree(body);
      for (var field : new String[] {"message", "errorDetails", "problem"}) {
        var value = json.path(field);
        if (value.isTextual()) {
          return value.asText();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: the body as it came
    }
    return body == null || body.isBlank() ? "(no message)" : body.strip();
  }

  static JsonNode json(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new CliException("The operator's answer is not JSON: " + body);
    }
  }
}
