package dev.robusto.operator;

import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.interceptor.Interceptor;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Which replica leads. With leader election on, only the holder of Lease {@value #LEASE} in the
 * operator's namespace runs the controllers and the timers that write; the other replicas serve the
 * HTTP APIs (OFREP, batch submission and progress, audit verification) and wait to take over. A
 * leader that cannot renew its lease exits, so two replicas never reconcile at once.
 */
@ApplicationScoped
public class Leadership {

  public static final String LEASE = "robusto-operator";
  private static final Logger LOG = Logger.getLogger(Leadership.class);

  private final boolean elected;
  private final String namespace;
  private final AtomicBoolean leading = new AtomicBoolean();
  private final AtomicBoolean stopping = new AtomicBoolean();

  public Leadership(
      @ConfigProperty(name = "robusto.leader-election.enabled") boolean elected,
      @ConfigProperty(name = "robusto.operator.namespace") String namespace) {
    this.elected = elected;
    this.namespace = namespace;
  }

  /**
   * Runs before the Operator SDK stops the operator (its observer has the default priority), so the
   * leadership that stopping ends is not taken for a lost lease.
   */
  void onShutdown(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent event) {
    stopping.set(true);
  }

  /** True on the leader, and on the only replica when leader election is off. */
  public boolean leads() {
    return !elected || leading.get();
  }

  /**
   * What the Operator SDK elects with; none (so no election) when it is turned off. Quarkus asks
   * for it only in the profiles of quarkus.operator-sdk.activate-leader-election-for-profiles.
   */
  @Produces
  @Dependent
  LeaderElectionConfiguration configuration() {
    if (!elected) {
      return null;
    }
    var identity = identity();
    LOG.infof("Leader election on Lease %s/%s as %s", namespace, LEASE, identity);
    return LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(LEASE)
        .withLeaseNamespace(namespace)
        .withIdentity(identity)
        // client-go's defaults: a new leader within 15 s of the old one's last renewal.
        .withLeaseDuration(Duration.ofSeconds(15))
        .withRenewDeadline(Duration.ofSeconds(10))
        .withRetryPeriod(Duration.ofSeconds(2))
        .withLeaderCallbacks(
            new LeaderCallbacks(
                () -> leading.set(true),
                this::stoppedLeading,
                leader -> LOG.infof("Replica %s leads", leader)))
        // Not the SDK's exit: JOSDK 5.2 calls System.exit on the thread that runs the shutdown
        // hook when a leader is stopped, which deadlocks the JVM on SIGTERM (fixed in JOSDK 5.3.5).
        .withExitOnStopLeading(false)
        .build();
  }

  /**
   * A leader that lost its lease exits, so two replicas never reconcile at once; from another
   * thread, as the callback runs under the elector's lock. Stopping on SIGTERM is not a loss.
   */
  private void stoppedLeading() {
    leading.set(false);
    if (stopping.get()) {
      return;
    }
    LOG.error("Lost the leader lease: exiting so that another replica takes over");
    var exit = new Thread(() -> System.exit(1), "lost-lease-exit");
    exit.setDaemon(true);
    exit.start();
  }

  /** The pod's name in a cluster; elsewhere host and process, so two local replicas differ. */
  private static String identity() {
    var pod = System.getenv("POD_NAME");
    if (pod != null && !pod.isBlank()) {
      return pod;
    }
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "localhost";
    }
    return host + "-" + ProcessHandle.current().pid();
  }
}
