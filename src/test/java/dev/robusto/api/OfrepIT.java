package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.openfeature.contrib.providers.ofrep.OfrepProvider;
import dev.openfeature.contrib.providers.ofrep.OfrepProviderOptions;
import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.ErrorCode;
import dev.openfeature.sdk.ImmutableContext;
import dev.openfeature.sdk.OpenFeatureAPI;
import dev.openfeature.sdk.Value;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FeatureFlagSpec;
import dev.robusto.flag.Fractional;
import dev.robusto.tenant.Tenant;
import dev.robusto.tenant.TenantSpec;
import dev.robusto.tenant.Tier;
import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * An OpenFeature client with the OFREP provider evaluates flags against the running operator, as a
 * tenant's application would: overrides, rollout buckets, the kill switch, type mismatches, and
 * only its own tenant.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class OfrepIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TestHTTPResource("/")
  URL base;

  private final KubernetesClient client = LocalCluster.get().client();

  @Test
  void aTenantsApplicationGetsItsOwnAnswers() throws Exception {
    tenant("ofrep-a");
    tenant("ofrep-b");
    var cluster = LocalCluster.get();
    cluster.kubectl("create", "serviceaccount", "app", "-n", "tenant-ofrep-a");
    var token = cluster.kubectl("create", "token", "app", "-n", "tenant-ofrep-a").strip();
    flag(
        "ofrep-captcha",
        """
        {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
         "tenants": {"ofrep-a": "off"}}
        """);
    flag(
        "ofrep-modelo",
        """
        {"type": "object", "defaultVariant": "basico",
         "variants": {"basico": {"model": "small", "maxTokens": 512},
                      "premium": {"model": "large", "maxTokens": 4096}},
         "tenants": {"ofrep-a": "premium"}}
        """);
    flag(
        "ofrep-portal",
        """
        {"type": "string", "variants": {"v1": "clasico", "v2": "nuevo"}, "defaultVariant": "v1",
         "rollout": [{"variant": "v2", "weight": 30}, {"variant": "v1", "weight": 70}]}
        """);
    flag(
        "ofrep-apagado",
        """
        {"type": "boolean", "variants": {"on": true, "off": false}, "defaultVariant": "on",
         "state": "DISABLED"}
        """);

    OpenFeatureAPI.getInstance()
        .setProviderAndWait(
            "robusto",
            OfrepProvider.constructProvider(
                OfrepProviderOptions.builder()
                    .baseUrl(base.toString().replaceAll("/$", ""))
                    .headers(ImmutableMap.of("Authorization", ImmutableList.of("Bearer " + token)))
                    .build()));
    Client features = OpenFeatureAPI.getInstance().getClient("robusto");
    var mine = new ImmutableContext("ofrep-a");

    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> !features.getBooleanValue("ofrep-captcha", true, mine));
    var captcha = features.getBooleanDetails("ofrep-captcha", true, mine);
    assertThat(captcha.getValue()).isFalse();
    assertThat(captcha.getReason()).isEqualTo("TARGETING_MATCH");
    assertThat(captcha.getVariant()).isEqualTo("off");

    var model = features.getObjectDetails("ofrep-modelo", new Value("none"), mine);
    assertThat(model.getValue().asStructure().getValue("model").asString()).isEqualTo("large");

    var portal = features.getStringDetails("ofrep-portal", "fallback", mine);
    var expected =
        Fractional.variant(
            "ofrep-portal",
            "ofrep-a",
            List.of(new Fractional.Weight("v2", 30), new Fractional.Weight("v1", 70)));
    assertThat(portal.getReason()).isEqualTo("SPLIT");
    assertThat(portal.getVariant()).isEqualTo(expected);
    assertThat(portal.getValue()).isEqualTo(expected.equals("v2") ? "nuevo" : "clasico");

    var mismatch = features.getStringDetails("ofrep-captcha", "x", mine);
    assertThat(mismatch.getValue()).isEqualTo("x");
    assertThat(mismatch.getErrorCode()).isEqualTo(ErrorCode.TYPE_MISMATCH);

    var killed = features.getBooleanDetails("ofrep-apagado", false, mine);
    assertThat(killed.getValue()).as("the kill switch leaves the code default").isFalse();

    var missing = features.getBooleanDetails("ofrep-no-existe", true, mine);
    assertThat(missing.getValue()).isTrue();
    assertThat(missing.getErrorCode()).isEqualTo(ErrorCode.FLAG_NOT_FOUND);

    var other = features.getBooleanDetails("ofrep-captcha", true, new ImmutableContext("ofrep-b"));
    assertThat(other.getValue()).as("another tenant's answers are not given out").isTrue();
    assertThat(other.getErrorCode()).isNotNull();

    // Raw OFREP: status codes, error codes, bulk with ETag.
    var http = HttpClient.newHttpClient();
    var noKey =
        post(http, token, "ofrep/v1/evaluate/flags/ofrep-captcha", "{\"context\": {}}", null);
    assertThat(noKey.statusCode()).isEqualTo(400);
    assertThat(noKey.body()).contains("TARGETING_KEY_MISSING");
    var garbage = post(http, token, "ofrep/v1/evaluate/flags/ofrep-captcha", "{", null);
    assertThat(garbage.statusCode()).isEqualTo(400);
    assertThat(garbage.body()).contains("PARSE_ERROR");
    assertThat(post(http, null, "ofrep/v1/evaluate/flags/ofrep-captcha", "{}", null).statusCode())
        .isEqualTo(401);
    var forbidden =
        post(
            http,
            token,
            "ofrep/v1/evaluate/flags/ofrep-captcha",
            "{\"context\": {\"targetingKey\": \"ofrep-b\"}}",
            null);
    assertThat(forbidden.statusCode()).isEqualTo(403);

    var bulk =
        post(
            http,
            token,
            "ofrep/v1/evaluate/flags",
            "{\"context\": {\"targetingKey\": \"ofrep-a\"}}",
            null);
    assertThat(bulk.statusCode()).isEqualTo(200);
    var etag = bulk.headers().firstValue("ETag").orElseThrow();
    var flags = JSON.readTree(bulk.body()).get("flags");
    assertThat(flags.findValuesAsText("key"))
        .contains("ofrep-captcha", "ofrep-modelo", "ofrep-portal", "ofrep-apagado");
    var apagado =
        java.util.stream.StreamSupport.stream(flags.spliterator(), false)
            .filter(f -> f.get("key").asText().equals("ofrep-apagado"))
            .findFirst()
            .orElseThrow();
    assertThat(apagado.get("reason").asText()).isEqualTo("DISABLED");
    assertThat(apagado.has("value")).as("a disabled flag has no value").isFalse();
    var unchanged =
        post(
            http,
            token,
            "ofrep/v1/evaluate/flags",
            "{\"context\": {\"targetingKey\": \"ofrep-a\"}}",
            etag);
    assertThat(unchanged.statusCode()).isEqualTo(304);
  }

  private HttpResponse<String> post(
      HttpClient http, String token, String path, String body, String ifNoneMatch)
      throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    if (ifNoneMatch != null) {
      request.header("If-None-Match", ifNoneMatch);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private void tenant(String name) {
    var tenant = new Tenant();
    tenant.setMetadata(new ObjectMetaBuilder().withName(name).build());
    var spec = new TenantSpec();
    spec.setTier(Tier.STARTUP);
    tenant.setSpec(spec);
    client.resource(tenant).create();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              var t = client.resources(Tenant.class).withName(name).get();
              return t.getStatus() != null
                  && t.getStatus().getConditions().stream()
                      .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
            });
  }

  private void flag(String name, String spec) throws Exception {
    var flag = new FeatureFlag();
    flag.setMetadata(new ObjectMetaBuilder().withName(name).build());
    flag.setSpec(JSON.readValue(spec, FeatureFlagSpec.class));
    client.resource(flag).create();
  }
}
