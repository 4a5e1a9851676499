package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * {@code kubectl explain} has something to say about every field of every kind, status included:
 * each property in the generated CRDs has a description. The one exception is what lies under a
 * fleet's pod template, Kubernetes' own PodTemplateSpec, which its upstream documentation describes
 * (the template field itself is described).
 */
class CrdDescriptionsTest {

  private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");

  /** Fields whose insides are an upstream Kubernetes type. */
  private static final List<String> UPSTREAM = List.of("AutomationDeployment.spec.template.");

  @Test
  void everyFieldOfEveryKindIsDescribed() throws IOException {
    var undescribed = new ArrayList<String>();
    var fields = 0;
    try (Stream<Path> files = Files.list(GENERATED)) {
      for (var file : files.filter(f -> f.toString().endsWith(".robusto.dev-v1.yml")).toList()) {
        Map<String, Object> crd = new Yaml().load(Files.readString(file));
        var spec = map(crd, "spec");
        var kind = (String) map(spec, "names").get("kind");
        for (var version : list(spec, "versions")) {
          var schema = map(map(version, "schema"), "openAPIV3Schema");
          fields += walk(kind, schema, undescribed);
        }
      }
    }
    assertThat(fields).as("fields walked").isGreaterThan(200);
    assertThat(undescribed)
        .as("fields without a description (add @JsonPropertyDescription, then hack/update-crds)")
        .isEmpty();
  }

  /** Counts the properties under {@code node} and notes those without a description. */
  private static int walk(String path, Map<String, Object> node, List<String> undescribed) {
    var count = 0;
    var properties = map(node, "properties");
    if (properties != null) {
      for (var entry : properties.entrySet()) {
        var field = path + "." + entry.getKey();
        @SuppressWarnings("unchecked")
        var property = (Map<String, Object>) entry.getValue();
        count++;
        var upstream = UPSTREAM.stream().anyMatch(field::startsWith);
        if (!upstream && isBlank(property.get("description"))) {
          undescribed.add(field);
        }
        count += walk(field, property, undescribed);
      }
    }
    var items = map(node, "items");
    if (items != null) {
      count += walk(path + "[]", items, undescribed);
    }
    if (node.get("additionalProperties") instanceof Map<?, ?>) {
      count += walk(path + "{}", map(node, "additionalProperties"), undescribed);
    }
    return count;
  }

  private static boolean isBlank(Object description) {
    return !(description instanceof String text) || text.isBlank();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Map<String, Object> node, String key) {
    return (Map<String, Object>) node.get(key);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> list(Map<String, Object> node, String key) {
    return (List<Map<String, Object>>) node.get(key);
  }
}
