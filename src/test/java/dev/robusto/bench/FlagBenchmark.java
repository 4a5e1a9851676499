package dev.robusto.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.robusto.flag.FeatureFlag;
import dev.robusto.flag.FeatureFlagSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Flag propagation against a running operator (run by hack/bench/flags, which starts the local
 * cluster, PostgreSQL and the operator, creates the tenants and flags, and measures OFREP
 * throughput with wrk): the time from a FeatureFlag change until every tenant's ConfigMap, and the
 * OFREP answer, reflect it. Target on 2 cores: within 1 s for 100 tenants.
 *
 * <p>Arguments: operator base URL, kubeconfig, number of tenants; the bearer token of tenant
 * bench-0's ServiceAccount comes in OFREP_TOKEN (not on the command line, where ps shows it).
 */
public final class FlagBenchmark {

  /**
   * Changes before the measured ones. A freshly started operator spends much of its CPU in the JIT
   * compiler for its first changes (every code path of a reconcile is compiled once); the measured
   * figures are those of a running operator, and the first change after start is printed too.
   */
  private static final int WARM_UP_ROUNDS = 20;

  private static final int MEASURED_ROUNDS = 7;
  private static final long TIMEOUT_NANOS = 30_000_000_000L;

  /** Often enough for a 1 s target, seldom enough not to load the 2 cores it measures. */
  private static final long POLL_MILLIS = 5;

  public static void main(String[] args) throws Exception {
    var base = args[0];
    var token = System.getenv("OFREP_TOKEN");
    var kubeconfig = Path.of(args[1]);
    var tenants = Integer.parseInt(args[2]);
    var http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    propagation(http, base, token, kubeconfig, tenants);
    // The Kubernetes client's Vert.x event loop is not a daemon thread and outlives the client.
    System.exit(0);
  }

  /**
   * Flips bench-flag-0's kill switch (a change every tenant's answer shows) and times, from the
   * edit, when the last tenant's ConfigMap shows it (seen by a watch opened beforehand, so the
   * benchmark's own listing does not count) and when the OFREP answer shows it (polled every
   * millisecond on its own thread).
   */
  private static void propagation(
      HttpClient http, String base, String token, Path kubeconfig, int tenants) throws Exception {
    var json = new ObjectMapper();
    var config = Config.fromKubeconfig(Files.readString(kubeconfig));
    try (var client = new KubernetesClientBuilder().withConfig(config).build()) {
      var stateByNamespace = new ConcurrentHashMap<String, String>();
      var firstNanos = new AtomicLong(-1);
      ResourceEventHandler<ConfigMap> handler =
          new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap map) {
              onUpdate(null, map);
            }

            @Override
            public void onUpdate(ConfigMap before, ConfigMap map) {
              try {
                var state =
                    json.readTree(map.getData().get("flags.json"))
                        .path("flags")
                        .path("bench-flag-0")
                        .path("state")
                        .asText();
                var prev = stateByNamespace.put(map.getMetadata().getNamespace(), state);
                if (!state.equals(prev)) {
                  firstNanos.compareAndSet(-1, System.nanoTime());
                }
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            }

            @Override
            public void onDelete(ConfigMap map, boolean finalStateUnknown) {}
          };
      try (var watch =
          client
              .configMaps()
              .inAnyNamespace()
              .withLabel("app.kubernetes.io/component", "feature-flags")
              .inform(handler)) {
        var lastTenantMillis = new ArrayList<Long>();
        var ofrepMillis = new ArrayList<Long>();
        for (var round = 1; round <= WARM_UP_ROUNDS + MEASURED_ROUNDS; round++) {
          var flags = client.resources(FeatureFlag.class).withName("bench-flag-0");
          var next =
              flags.get().getSpec().state == FeatureFlagSpec.State.ENABLED
                  ? FeatureFlagSpec.State.DISABLED
                  : FeatureFlagSpec.State.ENABLED;
          var disabled = next == FeatureFlagSpec.State.DISABLED;
          var ofrepNanos = new AtomicLong(-1);
          firstNanos.set(-1);
          var t0 = System.nanoTime();
          var poller =
              new Thread(
                  () -> {
                    try {
                      while (ofrepNanos.get() < 0 && System.nanoTime() - t0 < TIMEOUT_NANOS) {
                        if (ofrep(http, base, token).contains("\"reason\":\"DISABLED\"")
                            == disabled) {
                          ofrepNanos.set(System.nanoTime() - t0);
                        }
                        Thread.sleep(POLL_MILLIS);
                      }
                    } catch (Exception e) {
                      throw new IllegalStateException(e);
                    }
                  });
          poller.start();
          flags.edit(
              f -> {
                f.getSpec().state = next;
                return f;
              });
          while (stateByNamespace.values().stream().filter(next.name()::equals).count() < tenants) {
            if (System.nanoTime() - t0 > TIMEOUT_NANOS) {
              throw new IllegalStateException("not every tenant's ConfigMap saw the change");
            }
            Thread.sleep(POLL_MILLIS);
          }
          var lastNanos = System.nanoTime() - t0;
          poller.join();
          if (ofrepNanos.get() < 0) {
            throw new IllegalStateException("the OFREP answer never showed the change");
          }
          var warmUp = round <= WARM_UP_ROUNDS;
          if (!warmUp) {
            lastTenantMillis.add(lastNanos / 1_000_000);
            ofrepMillis.add(ofrepNanos.get() / 1_000_000);
          }
          if (warmUp && round > 1) {
            continue;
          }
          System.out.printf(
              "  change %d (%s)%s: first tenant's ConfigMap %d ms, every tenant's %d ms,"
                  + " OFREP answer %d ms%n",
              round,
              next,
              warmUp ? ", the first after start" : "",
              (firstNanos.get() - t0) / 1_000_000,
              lastNanos / 1_000_000,
              ofrepNanos.get() / 1_000_000);
        }
        System.out.printf(
            "  median of %d changes after %d to warm up: every tenant's ConfigMap %d ms (worst %d),"
                + " OFREP answer %d ms (worst %d)%n",
            MEASURED_ROUNDS,
            WARM_UP_ROUNDS,
            median(lastTenantMillis),
            Collections.max(lastTenantMillis),
            median(ofrepMillis),
            Collections.max(ofrepMillis));
      }
    }
  }

  private static long median(List<Long> values) {
    var sorted = values.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }

  private static String ofrep(HttpClient http, String base, String token) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(base + "/ofrep/v1/evaluate/flags/bench-flag-0"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"context\": {\"targetingKey\": \"bench-0\"}}"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private FlagBenchmark() {}
}
