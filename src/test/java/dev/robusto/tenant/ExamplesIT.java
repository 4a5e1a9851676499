package dev.robusto.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.LocalCluster;
import dev.robusto.testing.LocalClusterResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * What the README tells a newcomer to apply works: kubectl accepts examples/ and they get Ready.
 */
@QuarkusTest
@QuarkusTestResource(LocalClusterResource.class)
class ExamplesIT {

  @Test
  void theExampleTenantsAreAcceptedAndBecomeReady() {
    var cluster = LocalCluster.get();
    var examples = LocalCluster.projectDir().resolve("examples").toString();
    assertThat(cluster.kubectl("apply", "-f", examples))
        .contains("tenant.robusto.dev/comercializadora-norte created")
        .contains("tenant.robusto.dev/tacos-el-guero created");

    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(
                        cluster.kubectl(
                            "get",
                            "tenants",
                            "comercializadora-norte",
                            "tacos-el-guero",
                            "-o",
                            "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}"))
                    .isEqualTo("True True"));
    assertThat(
            cluster.kubectl(
                "get", "tenant", "tacos-el-guero", "-o", "jsonpath={.status.effectiveLimits}"))
        .contains("\"maxConcurrentJobs\":3")
        .contains("\"maxDailyJobs\":100")
        .contains("\"requestsPerMinute\":120");
    assertThat(
            cluster.kubectl(
                "get",
                "resourcequota",
                "tenant-quota",
                "-n",
                "tenant-comercializadora-norte",
                "-o",
                "jsonpath={.spec.hard.cpu}"))
        .isEqualTo("48");
  }
}
