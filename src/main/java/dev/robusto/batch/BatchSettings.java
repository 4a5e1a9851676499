package dev.robusto.batch;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** How the operator runs batches (Helm: values.batch). */
@ConfigMapping(prefix = "robusto.batch")
public interface BatchSettings {

  /** The worker image: the operator's own (same artifact, worker role). */
  String workerImage();

  @WithDefault("IfNotPresent")
  String workerImagePullPolicy();

  /** How long a claimed item stays a worker's without a heartbeat. */
  @WithDefault("PT30S")
  Duration lease();

  /** How often progress is read from PostgreSQL. */
  @WithDefault("PT2S")
  Duration progressPollInterval();
}
