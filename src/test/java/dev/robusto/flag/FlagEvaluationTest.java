package dev.robusto.flag;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlagEvaluationTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void anOverrideBeatsTheRolloutWhichBeatsTheDefault() throws Exception {
    var flag =
        flag(
            """
            {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
             "tenants": {"cliente-dificil": "off"},
             "rollout": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}]}
            """);
    var override = FlagEvaluation.of(flag, "cliente-dificil");
    assertThat(override.reason()).isEqualTo(FlagEvaluation.TARGETING_MATCH);
    assertThat(override.value().asBoolean()).isFalse();
    var split = FlagEvaluation.of(flag, "acme");
    assertThat(split.reason()).isEqualTo(FlagEvaluation.SPLIT);
    assertThat(split.variant())
        .isEqualTo(
            Fractional.variant(
                "captcha-solving",
                "acme",
                List.of(new Fractional.Weight("on", 50), new Fractional.Weight("off", 50))));

    flag.getSpec().rollout = null;
    var fallback = FlagEvaluation.of(flag, "acme");
    assertThat(fallback.reason()).isEqualTo(FlagEvaluation.STATIC);
    assertThat(fallback.variant()).isEqualTo("on");
  }

  @Test
  void theKillSwitchGivesNoValueSoCallersFallBackToTheirDefault() throws Exception {
    var flag =
        flag(
            """
            {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
             "state": "DISABLED", "tenants": {"acme": "on"}}
            """);
    var evaluation = FlagEvaluation.of(flag, "acme");
    assertThat(evaluation.reason()).isEqualTo(FlagEvaluation.DISABLED);
    assertThat(evaluation.value()).isNull();
    assertThat(evaluation.variant()).isNull();
  }

  @Test
  void objectVariantsGiveEachTenantItsOwnConfig() throws Exception {
    var flag =
        flag(
            """
            {"type": "object", "defaultVariant": "basico",
             "variants": {"basico": {"model": "small", "maxTokens": 512},
                          "premium": {"model": "large", "maxTokens": 4096}},
             "tenants": {"company-a": "premium"}}
            """);
    assertThat(FlagEvaluation.of(flag, "company-a").value().get("model").asText())
        .isEqualTo("large");
    assertThat(FlagEvaluation.of(flag, "company-b").value().get("model").asText())
        .isEqualTo("small");
  }

  @Test
  void unknownVariantsAndWrongTypesAreNamed() throws Exception {
    var spec =
        JSON.readValue(
            """
            {"type": "number", "variants": {"low": 1, "high": "ten"}, "defaultVariant": "medium",
             "tenants": {"acme": "huge"}, "rollout": [{"variant": "tiny", "weight": 10}]}
            """,
            FeatureFlagSpec.class);
    assertThat(FlagEvaluation.specErrors(spec))
        .containsExactly(
            "defaultVariant 'medium' is not one of the variants",
            "tenant 'acme' is given 'huge', not one of the variants",
            "rollout names 'tiny', not one of the variants",
            "variant 'high' is not a number");
  }

  private static FeatureFlag flag(String spec) throws Exception {
    var flag = new FeatureFlag();
    flag.setMetadata(new ObjectMetaBuilder().withName("captcha-solving").build());
    flag.setSpec(JSON.readValue(spec, FeatureFlagSpec.class));
    assertThat(flag.getSpec().variants).isNotEmpty();
    return flag;
  }
}
