package dev.robusto.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import dev.robusto.testing.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.swagger.parser.OpenAPIParser;
import io.swagger.v3.parser.core.models.ParseOptions;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The HTTP APIs' OpenAPI document: the committed copy (src/main/openapi/openapi.yaml) is what the
 * build writes, the operator serves it, and a validator that is not the library that wrote it finds
 * it valid, with v2's ticket and job schemas carrying every property of v1's.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
@QuarkusTestResource(PostgresResource.class)
@Tag("cluster")
class OpenApiIT {

  @TestHTTPResource("/q/openapi")
  URL served;

  @Test
  void theCommittedDocumentIsTheBuiltOneAndTheOperatorServesIt() throws Exception {
    var built = LocalCluster.projectDir().resolve("target/openapi/openapi.yaml");
    var committed = LocalCluster.projectDir().resolve("src/main/openapi/openapi.yaml");
    assertThat(built).as("the document the build writes").exists();
    assertThat(Files.readString(committed))
        .as("src/main/openapi/openapi.yaml is out of date: run hack/update-openapi")
        .isEqualTo(Files.readString(built));
    var answer =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(served.toString())).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body())
        .contains("/invoicing/v1/tickets/{id}")
        .contains("/invoicing/v2/tickets/{id}")
        .contains("/invoicing/v2/migration-report");
  }

  @Test
  void anIndependentValidatorFindsItValidAndV2ASupersetOfV1() throws Exception {
    var options = new ParseOptions();
    options.setResolve(true);
    var parsed =
        new OpenAPIParser()
            .readContents(
                Files.readString(
                    LocalCluster.projectDir().resolve("src/main/openapi/openapi.yaml")),
                null,
                options);
    assertThat(parsed.getMessages()).as("validation messages").isEmpty();
    var api = parsed.getOpenAPI();
    assertThat(api.getPaths().keySet())
        .contains(
            "/invoicing/v1/tickets",
            "/invoicing/v1/tickets/{id}",
            "/invoicing/v1/jobs",
            "/invoicing/v2/tickets",
            "/invoicing/v2/tickets/{id}",
            "/invoicing/v2/jobs",
            "/invoicing/v2/bulk",
            "/invoicing/v2/migration-report");
    var schemas = api.getComponents().getSchemas();
    for (var kind : new String[] {"Ticket", "Job"}) {
      var v1 = schemas.get(kind + "V1");
      var v2 = schemas.get(kind + "V2");
      assertThat(v1).as("v1's %s schema", kind).isNotNull();
      assertThat(v2).as("v2's %s schema", kind).isNotNull();
      assertThat(v2.getProperties().keySet())
          .as("v2's %s carries every property of v1's", kind)
          .containsAll(v1.getProperties().keySet())
          .hasSizeGreaterThan(v1.getProperties().size());
    }
  }
}
