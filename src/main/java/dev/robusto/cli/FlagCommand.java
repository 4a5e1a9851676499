package dev.robusto.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code robusto flag eval FLAG --tenant T}: what a tenant's workload gets, over OFREP. */
@Command(name = "flag", description = "FeatureFlags.")
final class FlagCommand {

  private final RobustoCli cli;

  FlagCommand(RobustoCli cli) {
    this.cli = cli;
  }

  @Command(
      name = "eval",
      description =
          "Evaluate a flag for a tenant over OFREP, as its workloads do (the token must be one of"
              + " a ServiceAccount in the tenant's namespace).")
  Integer eval(
      @Parameters(paramLabel = "FLAG") String flag,
      @Option(names = "--tenant", required = true, description = "The tenant (targeting key).")
          String tenant) {
    var body =
        RobustoCli.JSON
            .createObjectNode()
            .set("context", RobustoCli.JSON.createObjectNode().put("targetingKey", tenant));
    var response = cli.call("POST", "/ofrep/v1/evaluate/flags/" + flag, body.toString());
    if (response.statusCode() != 200) {
      var answer = response.body();
      var json = response.statusCode() == 401 ? null : tryJson(answer);
      if (json != null && json.has("errorCode")) {
        throw new RobustoCli.CliException(
            "%s for tenant %s: %s (%s)"
                .formatted(
                    flag,
                    tenant,
                    json.path("errorCode").asText(),
                    json.path("errorDetails").asText("")));
      }
      throw cli.refused(response, answer);
    }
    var answer = RobustoCli.json(response.body());
    cli.out.printf(
        "%s for tenant %s: %s (variant %s, reason %s)%n",
        flag,
        tenant,
        answer.has("value") ? answer.get("value").toString() : "no value",
        answer.path("variant").asText("-"),
        answer.path("reason").asText());
    return 0;
  }

  private static com.fasterxml.jackson.databind.JsonNode tryJson(String body) {
    try {
      return RobustoCli.JSON.readTree(body);
    } catch (java.io.IOException e) {
      return null;
    }
  }
}
