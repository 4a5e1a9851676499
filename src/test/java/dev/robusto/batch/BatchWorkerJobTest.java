package dev.robusto.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.robusto.tenant.TenantDirectory;
import dev.robusto.testing.ConfigFromProperties;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
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
            ConfigFromProperties.mapping(BatchSettings.class));

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
}
