package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The committed CRDs are exactly what the Java classes generate. Fix with hack/update-crds. */
class CrdDriftTest {

  private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");

  @ParameterizedTest
  @ValueSource(strings = {"crds", "helm/robusto-operator/files/crds"})
  void committedCrdsMatchTheJavaClasses(String folder) throws IOException {
    var generated = crdFiles(GENERATED);
    assertThat(generated).as("generated CRDs").isNotEmpty();
    assertThat(crdFiles(Path.of(folder)))
        .as("CRD files in %s; run hack/update-crds", folder)
        .containsExactlyInAnyOrderElementsOf(generated);
    for (var name : generated) {
      assertThat(Files.readString(Path.of(folder, name)))
          .as("%s/%s differs from the Java classes; run hack/update-crds", folder, name)
          .isEqualTo(Files.readString(GENERATED.resolve(name)));
    }
  }

  private static java.util.List<String> crdFiles(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".robusto.dev-v1.yml"))
          .sorted()
          .toList();
    }
  }
}
