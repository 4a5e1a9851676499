package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.testing.ArgoCdScripts;
import dev.robusto.testing.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The snippet a platform team pastes into argocd-cm holds the Lua scripts beside it, as {@code
 * hack/update-argocd} writes them. What each script says of real objects is checked by the ITs that
 * make them (TenantIT, AutomationBatchIT, AutomationDeploymentIT, FeatureFlagIT, MerchantIT).
 */
class ArgoCdScriptsTest {

  private static final List<String> KINDS =
      List.of("AutomationBatch", "AutomationDeployment", "FeatureFlag", "Merchant", "Tenant");

  @Test
  void theSnippetHoldsTheScriptsAsTheyAreInTheRepository() throws IOException {
    var data = ArgoCdScripts.configMapData();
    for (var kind : KINDS) {
      assertThat(data.get("resource.customizations.health.robusto.dev_" + kind))
          .as("%s's health check in argocd-cm.yaml: run hack/update-argocd", kind)
          .isEqualTo(script(kind + "/health.lua"));
    }
    Map<String, Object> actions =
        new Yaml()
            .load(data.get("resource.customizations.actions.robusto.dev_AutomationDeployment"));
    assertThat(actions.get("discovery.lua"))
        .isEqualTo(script("AutomationDeployment/actions/discovery.lua"));
    assertThat(
            ((List<?>) actions.get("definitions"))
                .stream().map(d -> String.valueOf(((Map<?, ?>) d).get("name"))))
        .containsExactly("promote", "abort", "retry");
    for (var definition : (List<?>) actions.get("definitions")) {
      var named = (Map<?, ?>) definition;
      assertThat(named.get("action.lua"))
          .as("fleet action %s in argocd-cm.yaml: run hack/update-argocd", named.get("name"))
          .isEqualTo(script("AutomationDeployment/actions/" + named.get("name") + "/action.lua"));
    }
    assertThat(data).hasSize(KINDS.size() + 1);
  }

  @Test
  void aResourceTheOperatorHasNotSeenYetIsProgressing() throws IOException {
    var fresh = new ObjectMapper().readTree("{\"metadata\":{\"name\":\"x\",\"generation\":1}}");
    for (var kind : KINDS) {
      assertThat(ArgoCdScripts.health(kind, fresh).status()).as(kind).isEqualTo("Progressing");
    }
  }

  private static String script(String path) throws IOException {
    var file =
        LocalCluster.projectDir().resolve("examples/gitops/argocd/robusto.dev").resolve(path);
    // As hack/update-argocd writes it: no trailing blanks.
    return String.join("\n", Files.readAllLines(file).stream().map(String::stripTrailing).toList())
        + "\n";
  }
}
