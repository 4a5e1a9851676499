package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.merchant.Merchant;
import dev.robusto.merchant.MerchantSpec;
import dev.robusto.tenant.TenantDirectory;
import dev.robusto.testing.ConfigFromProperties;
import dev.robusto.worker.WorkerConfig;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchWorkerJobTest {

  @Test
  void aWorkerPodIsProbedOnItsHealthPort() {
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder()
            .withName("fin-de-mes")
            .withNamespace("tenant-acme")
            .withUid("00000000-0000-0000-0000-0000000000a1")
            .build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.simulated = new AutomationBatchSpec.Simulated();
    batch.setSpec(spec);
    var job =
        BatchWorkerJob.desired(
            batch,
            1,
            3,
            new TenantDirectory.Entry("acme", 3, 100, 600, false),
            ConfigFromProperties.mapping(BatchSettings.class),
            null);

    var worker = job.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(worker.getPorts())
        .singleElement()
        .satisfies(
            port -> {
              assertThat(port.getName()).isEqualTo("health");
              assertThat(port.getContainerPort()).isEqualTo(8081);
            });
    assertThat(worker.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/live");
    assertThat(worker.getLivenessProbe().getHttpGet().getPort()).isEqualTo(new IntOrString(8081));
    assertThat(worker.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready");
  }

  @Test
  void aMerchantsWorkersGetItsSettingsAndOnlyTheTwoKeysOfItsSecretNeverTheirValues()
      throws Exception {
    var batch = new AutomationBatch();
    batch.setMetadata(
        new ObjectMetaBuilder()
            .withName("oxxo-diciembre")
            .withNamespace("tenant-acme")
            .withUid("00000000-0000-0000-0000-0000000000a2")
            .build());
    var spec = new AutomationBatchSpec();
    spec.processor = new AutomationBatchSpec.Processor();
    spec.processor.http = new AutomationBatchSpec.Http();
    spec.processor.http.merchant = "oxxo";
    spec.parallelism = 4;
    spec.itemTimeout = "30s";
    batch.setSpec(spec);
    var merchant = new Merchant();
    merchant.setMetadata(
        new ObjectMetaBuilder().withName("oxxo").withNamespace("tenant-acme").build());
    merchant.setSpec(new MerchantSpec());
    merchant.getSpec().url = "https://facturacion.oxxo.example/api";
    merchant.getSpec().alternativeUrls = List.of("https://respaldo.oxxo.example/api");
    merchant.getSpec().requestTimeout = "5s";
    merchant.getSpec().rateLimit.requestsPerMinute = 120;
    merchant.getSpec().credentials = new MerchantSpec.Credentials();
    merchant.getSpec().credentials.secretName = "oxxo-portal";

    var pod =
        BatchWorkerJob.desired(
                batch,
                1,
                4,
                new TenantDirectory.Entry("acme", 20, 1000, 6000, false),
                ConfigFromProperties.mapping(BatchSettings.class),
                merchant)
            .getSpec()
            .getTemplate()
            .getSpec();

    var volume = pod.getVolumes().get(0).getSecret();
    assertThat(volume.getSecretName()).isEqualTo("oxxo-portal");
    assertThat(volume.getOptional()).as("a missing key shows in the Merchant's status").isTrue();
    assertThat(volume.getItems())
        .extracting(i -> i.getKey())
        .containsExactly("primary", "fallback");
    var worker = pod.getContainers().get(0);
    assertThat(worker.getVolumeMounts().get(0).getMountPath())
        .isEqualTo("/var/run/robusto/merchant");
    assertThat(worker.getVolumeMounts().get(0).getReadOnly()).isTrue();
    var config =
        new ObjectMapper()
            .readValue(
                worker.getEnv().stream()
                    .filter(e -> e.getName().equals("ROBUSTO_WORKER_CONFIG"))
                    .findFirst()
                    .orElseThrow()
                    .getValue(),
                WorkerConfig.class);
    assertThat(config.url()).isNull();
    assertThat(config.merchant().urls())
        .containsExactly(
            "https://facturacion.oxxo.example/api", "https://respaldo.oxxo.example/api");
    assertThat(config.itemTimeoutMillis()).as("the merchant's timeout").isEqualTo(5_000);
    assertThat(config.requestsPerMinute())
        .as("120 a minute shared by 4 workers, within the tenant's 6000 / 20")
        .isEqualTo(30);
    assertThat(config.merchant().circuitFailures()).isEqualTo(5);
    assertThat(config.merchant().circuitOpenMillis()).isEqualTo(60_000);
    assertThat(config.merchant().credentialHeader()).isEqualTo("Authorization");
    assertThat(worker.getEnv())
        .as("the worker names its tenant in its log lines")
        .filteredOn(e -> e.getName().equals("ROBUSTO_TENANT"))
        .singleElement()
        .satisfies(e -> assertThat(e.getValue()).isEqualTo("acme"));
  }
}
