package dev.robusto.operator;

import dev.robusto.audit.AuditAnchoring;
import dev.robusto.audit.AuditVerifications;
import dev.robusto.batch.AutomationBatchStatus;
import dev.robusto.deployment.AutomationDeployment;
import dev.robusto.deployment.AutomationDeploymentStatus;
import dev.robusto.tenant.Tenant;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.prometheus.client.Collector;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * The platform's own metrics, in Prometheus's format at /q/metrics next to the Operator SDK's. The
 * leader reads them every robusto.metrics.refresh from PostgreSQL (what workers committed through
 * the worker functions: outcomes, retries, latency buckets, attempts, circuit breakers, the queue)
 * and from the API server (tenants' readiness, fleets' phases and analyses); scrapes serve the last
 * reading. Worker pods expose no metrics port: their figures reach the database with the work they
 * record (an outcome in its own transaction), so they are exact, survive a pod that ends between
 * scrapes (most are short-lived Jobs), need no PodMonitor in every tenant's namespace, and a
 * tenant, who controls its pods, can misreport only its own.
 *
 * <p>Series per tenant (and per fleet) are on by default for the first {@code max-labelled-tenants}
 * tenants by name; the others are summed under tenant="_other", so the number of series is bounded
 * whatever the number of tenants.
 */
@ApplicationScoped
public class PlatformCollector extends Collector {

  private static final Logger LOG = Logger.getLogger(PlatformCollector.class);

  /** Upper bounds of the latency buckets, in ms, as robusto_latency_bucket() has them. */
  static final int[] LATENCY_BUCKETS_MS = {100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000};

  static final String OTHER_TENANTS = "_other";

  /** Fleets of one namespace with series of their own. */
  static final int FLEETS_PER_NAMESPACE = 5;

  /** Endpoints of one tenant with circuit series of their own. */
  static final int ENDPOINTS_PER_TENANT = 5;

  private static final List<String> OUTCOMES =
      List.of("succeeded", "failed", "dead_lettered", "retried");
  private static final List<String> PRIORITIES = List.of("urgente", "alta", "normal", "baja");
  private static final List<String> QUEUE_STATES = List.of("held", "pending", "running");

  @ConfigMapping(prefix = "robusto.metrics")
  public interface Settings {
    /** How often the leader reads the figures. */
    @WithDefault("PT30S")
    Duration refresh();

    /** Series per tenant and per fleet. */
    @WithDefault("true")
    boolean tenantLabels();

    /** Tenants (and fleets) with series of their own; the rest are summed as _other. */
    @WithDefault("100")
    int maxLabelledTenants();
  }

  private final PlatformFigures figures;
  private final KubernetesClient client;
  private final AuditVerifications verifications;
  private final AuditAnchoring anchoring;
  private final Leadership leadership;
  private final Settings settings;
  private final Clock clock;
  private final PrometheusMeterRegistry registry;

  // Counted from this replica's first reading as leader: a replica that leads again starts over
  // (Prometheus sees a counter reset), never adding what another leader already exported.
  private MonotonicTotals<List<Object>> tickets = new MonotonicTotals<>();
  private MonotonicTotals<List<Object>> tenantTickets = new MonotonicTotals<>();
  private MonotonicTotals<List<Object>> latency = new MonotonicTotals<>();
  private MonotonicTotals<List<Object>> processing = new MonotonicTotals<>();
  private MonotonicTotals<List<Object>> attemptLatency = new MonotonicTotals<>();
  private MonotonicTotals<List<Object>> attemptMillis = new MonotonicTotals<>();
  private MonotonicTotals<List<Object>> attemptResults = new MonotonicTotals<>();
  private long verificationFailures;
  private java.time.Instant lastVerificationCounted;
  private final Map<List<String>, Double> refreshFailures =
      new TreeMap<>(MonotonicTotals::compareLabels);
  private final Map<String, List<MetricFamilySamples>> sections = new LinkedHashMap<>();
  private volatile List<MetricFamilySamples> samples = List.of();

  PlatformCollector(
      DataSource dataSource,
      KubernetesClient client,
      AuditVerifications verifications,
      AuditAnchoring anchoring,
      Leadership leadership,
      Settings settings,
      Clock clock,
      PrometheusMeterRegistry registry) {
    this.figures = new PlatformFigures(dataSource);
    this.client = client;
    this.verifications = verifications;
    this.anchoring = anchoring;
    this.leadership = leadership;
    this.settings = settings;
    this.clock = clock;
    this.registry = registry;
  }

  void register(@Observes StartupEvent event) {
    registry.getPrometheusRegistry().register(this);
  }

  @Override
  public List<MetricFamilySamples> collect() {
    var all = new ArrayList<>(samples);
    all.add(
        gauge(
            "robusto_leader",
            "1 on the replica that leads (reconciles and runs the timers), 0 on the others.",
            List.of(),
            Map.of(List.of(), leadership.leads() ? 1.0 : 0.0)));
    return all;
  }

  @Scheduled(
      every = "${robusto.metrics.refresh}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  synchronized void refresh() {
    if (!leadership.leads()) {
      samples = List.of();
      sections.clear();
      tickets = new MonotonicTotals<>();
      tenantTickets = new MonotonicTotals<>();
      latency = new MonotonicTotals<>();
      processing = new MonotonicTotals<>();
      attemptLatency = new MonotonicTotals<>();
      attemptMillis = new MonotonicTotals<>();
      attemptResults = new MonotonicTotals<>();
      return;
    }
    var today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    var since = today.minusDays(1);
    var labelled = new HashSet<String>();
    section(
        "database",
        families -> {
          var loads = figures.tenants();
          labelled.addAll(
              labelled(loads.stream().map(PlatformFigures.TenantLoad::tenantId).toList()));
          var days = figures.days(since);
          ticketFamilies(families, days, since, labelled);
          latencyFamilies(families, figures.latency(since), since);
          attemptFamilies(families, figures.attempts(since), since, labelled);
          circuitFamilies(families, figures.openCircuits(), labelled);
          queueFamilies(families, figures.queue());
          loadFamilies(families, loads, days, today, labelled);
          batchFamilies(families, figures.batchPhases());
          families.add(
              gauge(
                  "robusto_metrics_refresh_timestamp_seconds",
                  "When the leader last read the platform's figures from PostgreSQL.",
                  List.of(),
                  Map.of(List.of(), clock.instant().getEpochSecond() * 1.0)));
        });
    section("tenants", families -> tenantFamilies(families, labelled));
    // Apart from tenants: an operator confined to some namespaces may not list fleets everywhere.
    section("fleets", this::fleetFamilies);
    section("audit", this::auditFamilies);
    var all = new ArrayList<MetricFamilySamples>();
    sections.values().forEach(all::addAll);
    all.add(
        counter(
            "robusto_metrics_refresh_failures",
            "Readings of the platform's figures that failed, by source (the last good reading of"
                + " that source is served).",
            List.of("source"),
            refreshFailures));
    samples = List.copyOf(all);
  }

  /** A part of the figures, read apart: one source failing keeps the others current. */
  private void section(String source, FamiliesReader reader) {
    var families = new ArrayList<MetricFamilySamples>();
    refreshFailures.putIfAbsent(List.of(source), 0.0);
    try {
      reader.read(families);
      sections.put(source, families);
    } catch (Exception e) {
      refreshFailures.merge(List.of(source), 1.0, Double::sum);
      LOG.warnf(
          "Could not read the platform's figures from the %s: %s",
          source, ReconcileErrors.detail(e));
    }
  }

  private interface FamiliesReader {
    void read(List<MetricFamilySamples> families) throws Exception;
  }

  /** Tenants with series of their own: the first by name, up to the cap; none when off. */
  private Set<String> labelled(List<String> tenants) {
    if (!settings.tenantLabels()) {
      return Set.of();
    }
    return new HashSet<>(tenants.stream().sorted().limit(settings.maxLabelledTenants()).toList());
  }

  private static String tenantLabel(String tenant, Set<String> labelled) {
    return labelled.contains(tenant) ? tenant : OTHER_TENANTS;
  }

  private void ticketFamilies(
      List<MetricFamilySamples> families,
      List<PlatformFigures.TenantDay> days,
      LocalDate since,
      Set<String> labelled) {
    for (var day : days) {
      processing.observe(List.of(day.tenantId(), day.day()), List.of(), day.processingMs());
      var counts =
          Map.of(
              "succeeded", day.succeeded(),
              "failed", day.failed(),
              "dead_lettered", day.deadLettered(),
              "retried", day.retried());
      counts.forEach(
          (outcome, value) -> {
            List<Object> row = List.of(day.tenantId(), day.day(), outcome);
            tickets.observe(row, List.of(outcome), value);
            if (settings.tenantLabels()) {
              tenantTickets.observe(
                  row, List.of(tenantLabel(day.tenantId(), labelled), outcome), value);
            }
          });
    }
    tickets.endRound(row -> !((LocalDate) row.get(1)).isBefore(since));
    tenantTickets.endRound(row -> !((LocalDate) row.get(1)).isBefore(since));
    processing.endRound(row -> !((LocalDate) row.get(1)).isBefore(since));
    var totals = tickets.totals();
    OUTCOMES.forEach(outcome -> totals.putIfAbsent(List.of(outcome), 0.0));
    families.add(
        counter(
            "robusto_tickets",
            "Tickets by outcome: succeeded, failed (refused for good), dead_lettered (every attempt"
                + " used) and retried (an attempt failed, the ticket was queued again).",
            List.of("outcome"),
            totals));
    if (settings.tenantLabels()) {
      families.add(
          counter(
              "robusto_tenant_tickets",
              "robusto_tickets per tenant (tenants past the label cap are summed as _other).",
              List.of("tenant", "outcome"),
              tenantTickets.totals()));
    }
  }

  private void latencyFamilies(
      List<MetricFamilySamples> families,
      List<PlatformFigures.LatencyBucket> buckets,
      LocalDate since) {
    for (var bucket : buckets) {
      latency.observe(
          List.of(bucket.tenantId(), bucket.day(), bucket.leMs()),
          List.of(Integer.toString(bucket.leMs())),
          bucket.tickets());
    }
    latency.endRound(row -> !((LocalDate) row.get(1)).isBefore(since));
    families.add(
        histogram(
            "robusto_ticket_processing_seconds",
            "How long finished tickets held their workers, over all their attempts.",
            latency.totals(),
            processing.totals().values().stream().mapToDouble(Double::doubleValue).sum()));
  }

  /**
   * Attempts as workers report them, so per tenant (under the label cap): a tenant can misreport
   * its own attempts, never hide or raise another's, nor the platform's alert for them.
   */
  private void attemptFamilies(
      List<MetricFamilySamples> families,
      List<PlatformFigures.AttemptBucket> buckets,
      LocalDate since,
      Set<String> labelled) {
    for (var bucket : buckets) {
      var tenant = settings.tenantLabels() ? tenantLabel(bucket.tenantId(), labelled) : "";
      var row = List.<Object>of(bucket.tenantId(), bucket.day(), bucket.leMs());
      attemptLatency.observe(
          row, List.of(tenant, Integer.toString(bucket.leMs())), bucket.attempts());
      attemptMillis.observe(row, List.of(tenant), bucket.durationMs());
      attemptResults.observe(
          List.of(bucket.tenantId(), bucket.day(), bucket.leMs(), "failed"),
          List.of(tenant, "failed"),
          bucket.failed());
      attemptResults.observe(
          List.of(bucket.tenantId(), bucket.day(), bucket.leMs(), "succeeded"),
          List.of(tenant, "succeeded"),
          bucket.attempts() - bucket.failed());
    }
    for (var totals : List.of(attemptLatency, attemptMillis, attemptResults)) {
      totals.endRound(row -> !((LocalDate) row.get(1)).isBefore(since));
    }
    var byTenant = new TreeMap<String, Map<List<String>, Double>>();
    attemptLatency
        .totals()
        .forEach(
            (labels, value) ->
                byTenant
                    .computeIfAbsent(
                        labels.get(0), t -> new TreeMap<>(MonotonicTotals::compareLabels))
                    .put(List.of(labels.get(1)), value));
    var sums = attemptMillis.totals();
    var samplesOut = new ArrayList<MetricFamilySamples.Sample>();
    byTenant.forEach(
        (tenant, perBucket) ->
            samplesOut.addAll(
                histogram(
                        "robusto_attempt_duration_seconds",
                        "",
                        perBucket,
                        sums.getOrDefault(List.of(tenant), 0.0),
                        tenant.isEmpty() ? List.of() : List.of("tenant"),
                        tenant.isEmpty() ? List.of() : List.of(tenant))
                    .samples));
    families.add(
        new MetricFamilySamples(
            "robusto_attempt_duration_seconds",
            Type.HISTOGRAM,
            "How long workers' calls to the processor took, attempt by attempt, as each worker"
                + " measured and reported it; per tenant under the label cap (an attempt the"
                + " circuit breaker held back is not one).",
            samplesOut));
    var results = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    attemptResults
        .totals()
        .forEach(
            (labels, value) ->
                results.put(settings.tenantLabels() ? labels : List.of(labels.get(1)), value));
    if (!settings.tenantLabels()) {
      results.putIfAbsent(List.of("succeeded"), 0.0);
      results.putIfAbsent(List.of("failed"), 0.0);
    }
    families.add(
        counter(
            "robusto_attempts",
            "Workers' attempts by result (succeeded, or failed: to be retried or for good), as"
                + " they report them; per tenant under the label cap.",
            settings.tenantLabels() ? List.of("tenant", "result") : List.of("result"),
            results));
  }

  /** Open circuits, per tenant and endpoint for at most a few endpoints a tenant. */
  private void circuitFamilies(
      List<MetricFamilySamples> families,
      List<PlatformFigures.OpenCircuits> circuits,
      Set<String> labelled) {
    double open = 0;
    var perEndpoint = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var endpointsOf = new java.util.HashMap<String, Integer>();
    for (var circuit : circuits) {
      open += circuit.workers();
      var tenant = tenantLabel(circuit.tenantId(), labelled);
      var endpoint =
          !tenant.equals(OTHER_TENANTS)
                  && endpointsOf.merge(tenant, 1, Integer::sum) <= ENDPOINTS_PER_TENANT
              ? circuit.endpoint()
              : OTHER_TENANTS;
      perEndpoint.merge(List.of(tenant, endpoint), (double) circuit.workers(), Double::sum);
    }
    families.add(
        gauge(
            "robusto_circuit_breakers_open",
            "Workers' circuit breakers open now, across tenants and endpoints: a portal failed"
                + " 5 calls in a row and its tickets wait out the cool-down.",
            List.of(),
            Map.of(List.of(), open)));
    if (settings.tenantLabels()) {
      families.add(
          gauge(
              "robusto_tenant_circuit_breakers_open",
              "Workers with their circuit breaker to an endpoint (host:port) open, per tenant"
                  + " (past "
                  + ENDPOINTS_PER_TENANT
                  + " endpoints a tenant, and for tenants past the label cap, endpoint=_other).",
              List.of("tenant", "endpoint"),
              perEndpoint));
    }
  }

  /** A histogram from per-bucket counts (upper bound in ms, not cumulative) and a sum in ms. */
  private static MetricFamilySamples histogram(
      String name, String help, Map<List<String>, Double> perBucketMs, double sumMs) {
    return histogram(name, help, perBucketMs, sumMs, List.of(), List.of());
  }

  /** The same, every sample carrying {@code labels} = {@code values} too. */
  private static MetricFamilySamples histogram(
      String name,
      String help,
      Map<List<String>, Double> perBucketMs,
      double sumMs,
      List<String> labels,
      List<String> values) {
    var perBucket = new TreeMap<Integer, Double>();
    perBucketMs.forEach((key, value) -> perBucket.put(Integer.parseInt(key.get(0)), value));
    var bucketLabels = new ArrayList<>(labels);
    bucketLabels.add("le");
    var samplesOut = new ArrayList<MetricFamilySamples.Sample>();
    double cumulative = 0;
    for (var le : LATENCY_BUCKETS_MS) {
      cumulative += perBucket.getOrDefault(le, 0.0);
      var bucketValues = new ArrayList<>(values);
      bucketValues.add(Collector.doubleToGoString(le / 1000.0));
      samplesOut.add(
          new MetricFamilySamples.Sample(name + "_bucket", bucketLabels, bucketValues, cumulative));
    }
    cumulative += perBucket.getOrDefault(Integer.MAX_VALUE, 0.0);
    var infValues = new ArrayList<>(values);
    infValues.add("+Inf");
    samplesOut.add(
        new MetricFamilySamples.Sample(name + "_bucket", bucketLabels, infValues, cumulative));
    samplesOut.add(new MetricFamilySamples.Sample(name + "_count", labels, values, cumulative));
    samplesOut.add(new MetricFamilySamples.Sample(name + "_sum", labels, values, sumMs / 1000.0));
    return new MetricFamilySamples(name, Type.HISTOGRAM, help, samplesOut);
  }

  private void queueFamilies(
      List<MetricFamilySamples> families, List<PlatformFigures.QueueDepth> queue) {
    var depth = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var oldest = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    for (var priority : PRIORITIES) {
      oldest.put(List.of(priority), 0.0);
      for (var state : QUEUE_STATES) {
        depth.put(List.of(priority, state), 0.0);
      }
    }
    for (var row : queue) {
      depth.put(List.of(row.priority(), row.state()), (double) row.tickets());
      if (row.state().equals("pending")) {
        oldest.put(List.of(row.priority()), row.oldestDueSeconds());
      }
    }
    families.add(
        gauge(
            "robusto_queue_tickets",
            "Live tickets by priority and state: held (waiting for the daily quota), pending (due or"
                + " waiting to retry), running (claimed by a worker).",
            List.of("priority", "state"),
            depth));
    families.add(
        gauge(
            "robusto_queue_oldest_due_seconds",
            "How long the oldest due pending ticket of each priority has waited for a worker.",
            List.of("priority"),
            oldest));
  }

  private void loadFamilies(
      List<MetricFamilySamples> families,
      List<PlatformFigures.TenantLoad> loads,
      List<PlatformFigures.TenantDay> today,
      LocalDate day,
      Set<String> labelled) {
    var admitted = new TreeMap<String, Long>();
    today.stream()
        .filter(d -> d.day().equals(day))
        .forEach(d -> admitted.merge(d.tenantId(), d.admitted(), Long::sum));
    var workers = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var workersLimit = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var admissions = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var admissionsLimit = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    double allWorkers = 0;
    double allWorkersLimit = 0;
    double allAdmitted = 0;
    double allAdmittedLimit = 0;
    for (var load : loads) {
      var tenant = List.of(tenantLabel(load.tenantId(), labelled));
      var admittedToday = admitted.getOrDefault(load.tenantId(), 0L);
      workers.merge(tenant, (double) load.workers(), Double::sum);
      workersLimit.merge(tenant, (double) load.maxWorkers(), Double::sum);
      admissions.merge(tenant, (double) admittedToday, Double::sum);
      admissionsLimit.merge(tenant, (double) load.maxDaily(), Double::sum);
      allWorkers += load.workers();
      allWorkersLimit += load.maxWorkers();
      allAdmitted += admittedToday;
      allAdmittedLimit += load.maxDaily();
    }
    families.add(
        gauge(
            "robusto_batch_workers",
            "Batch workers all tenants' batches hold now.",
            List.of(),
            Map.of(List.of(), allWorkers)));
    families.add(
        gauge(
            "robusto_batch_workers_limit",
            "The sum of the tenants' concurrency caps (maxConcurrentJobs).",
            List.of(),
            Map.of(List.of(), allWorkersLimit)));
    families.add(
        gauge(
            "robusto_admissions_today",
            "Tickets admitted today (UTC) across tenants.",
            List.of(),
            Map.of(List.of(), allAdmitted)));
    families.add(
        gauge(
            "robusto_admissions_today_limit",
            "The sum of the tenants' daily limits (maxDailyJobs).",
            List.of(),
            Map.of(List.of(), allAdmittedLimit)));
    if (settings.tenantLabels()) {
      families.add(
          gauge(
              "robusto_tenant_batch_workers",
              "Batch workers a tenant's batches hold now.",
              List.of("tenant"),
              workers));
      families.add(
          gauge(
              "robusto_tenant_batch_workers_limit",
              "A tenant's concurrency cap (maxConcurrentJobs).",
              List.of("tenant"),
              workersLimit));
      families.add(
          gauge(
              "robusto_tenant_admissions_today",
              "A tenant's tickets admitted today (UTC).",
              List.of("tenant"),
              admissions));
      families.add(
          gauge(
              "robusto_tenant_admissions_today_limit",
              "A tenant's daily limit (maxDailyJobs).",
              List.of("tenant"),
              admissionsLimit));
    }
  }

  private void batchFamilies(
      List<MetricFamilySamples> families, List<Map.Entry<String, Long>> phases) {
    var byPhase = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    for (var phase : AutomationBatchStatus.Phase.values()) {
      byPhase.put(List.of(phase.toString()), 0.0);
    }
    phases.forEach(p -> byPhase.put(List.of(p.getKey()), (double) p.getValue()));
    families.add(
        gauge(
            "robusto_batches",
            "Batches by phase; Throttled ones wait for their tenant's daily quota.",
            List.of("phase"),
            byPhase));
  }

  private void tenantFamilies(List<MetricFamilySamples> families, Set<String> labelled) {
    var byReadiness = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    byReadiness.put(List.of("true"), 0.0);
    byReadiness.put(List.of("false"), 0.0);
    var perTenant = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    for (var tenant : client.resources(Tenant.class).list().getItems()) {
      var ready =
          tenant.getStatus() != null
              && Conditions.find(tenant.getStatus().getConditions(), Conditions.READY)
                  .map(c -> c.getStatus().equals("True"))
                  .orElse(false);
      byReadiness.merge(List.of(Boolean.toString(ready)), 1.0, Double::sum);
      var name = tenant.getMetadata().getName();
      if (labelled.contains(name)) {
        perTenant.put(List.of(name), ready ? 1.0 : 0.0);
      }
    }
    families.add(
        gauge(
            "robusto_tenants",
            "Tenants by readiness (their Ready condition).",
            List.of("ready"),
            byReadiness));
    if (settings.tenantLabels()) {
      families.add(
          gauge(
              "robusto_tenant_ready",
              "1 while a tenant's Ready condition is True.",
              List.of("tenant"),
              perTenant));
    }
  }

  private void fleetFamilies(List<MetricFamilySamples> families) {
    var byPhase = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    for (var phase : AutomationDeploymentStatus.Phase.values()) {
      byPhase.put(List.of(phase.toString()), 0.0);
    }
    var weights = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var values = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var thresholds = new TreeMap<List<String>, Double>(MonotonicTotals::compareLabels);
    var fleets =
        client.resources(AutomationDeployment.class).inAnyNamespace().list().getItems().stream()
            .sorted(
                (a, b) ->
                    (a.getMetadata().getNamespace() + "/" + a.getMetadata().getName())
                        .compareTo(
                            b.getMetadata().getNamespace() + "/" + b.getMetadata().getName()))
            .toList();
    var labelledFleets = 0;
    var perNamespace = new java.util.HashMap<String, Integer>();
    for (var fleet : fleets) {
      var status = fleet.getStatus();
      if (status == null || status.phase == null) {
        continue;
      }
      byPhase.merge(List.of(status.phase.toString()), 1.0, Double::sum);
      // A few fleets per namespace: one tenant's many fleets cannot take every labelled slot.
      var inNamespace = perNamespace.merge(fleet.getMetadata().getNamespace(), 1, Integer::sum);
      if (!settings.tenantLabels()
          || inNamespace > FLEETS_PER_NAMESPACE
          || labelledFleets++ >= settings.maxLabelledTenants()) {
        continue;
      }
      var id = List.of(fleet.getMetadata().getNamespace(), fleet.getMetadata().getName());
      weights.put(id, status.canaryWeight == null ? 0.0 : status.canaryWeight);
      if (status.lastAnalysis != null) {
        for (var metric : status.lastAnalysis.metrics) {
          if (metric.value != null) {
            var key = List.of(id.get(0), id.get(1), metric.name);
            values.put(key, metric.value);
            if (metric.threshold != null) {
              thresholds.put(key, metric.threshold);
            }
          }
        }
      }
    }
    families.add(
        gauge("robusto_fleets", "AutomationDeployments by phase.", List.of("phase"), byPhase));
    if (settings.tenantLabels()) {
      families.add(
          gauge(
              "robusto_fleet_canary_weight_percent",
              "The share of a fleet's replicas its canary runs.",
              List.of("namespace", "fleet"),
              weights));
      families.add(
          gauge(
              "robusto_fleet_analysis_value",
              "What a fleet's last canary analysis measured, per metric of its spec.",
              List.of("namespace", "fleet", "metric"),
              values));
      families.add(
          gauge(
              "robusto_fleet_analysis_threshold",
              "The threshold each measured metric is judged against.",
              List.of("namespace", "fleet", "metric"),
              thresholds));
    }
  }

  private void auditFamilies(List<MetricFamilySamples> families) throws Exception {
    var result = verifications.latest();
    // The answer is shared for a while: count each verification once.
    if (!result.verification().intact() && !result.at().equals(lastVerificationCounted)) {
      verificationFailures++;
      lastVerificationCounted = result.at();
    }
    families.add(
        gauge(
            "robusto_audit_chain_rows",
            "Rows in the audit chain.",
            List.of(),
            Map.of(List.of(), (double) result.chainLength())));
    families.add(
        gauge(
            "robusto_audit_chain_intact",
            "1 while the last verification found the chain intact.",
            List.of(),
            Map.of(List.of(), result.verification().intact() ? 1.0 : 0.0)));
    families.add(
        gauge(
            "robusto_audit_verified_row",
            "The last row the latest verification reached intact.",
            List.of(),
            Map.of(
                List.of(),
                (double)
                    (result.verification().intact()
                        ? result.chainLength()
                        : Math.max(0, result.verification().firstBrokenSeq() - 1)))));
    families.add(
        counter(
            "robusto_audit_verification_failures",
            "Verifications that found the chain broken.",
            List.of(),
            Map.of(List.of(), (double) verificationFailures)));
    result
        .anchor()
        .ifPresent(
            anchor ->
                families.add(
                    gauge(
                        "robusto_audit_unanchored_rows",
                        "Rows appended after the anchor: a cut of them would go unseen.",
                        List.of(),
                        Map.of(List.of(), (double) (result.chainLength() - anchor.seq())))));
    // The checkpointer's work, seen from here: it may stop (its pod, its login) without the
    // operator noticing otherwise.
    var checkpoint =
        anchoring.checkpoints().stream()
            .filter(c -> c.at() != null)
            .max(
                java.util.Comparator.comparingLong(
                    dev.robusto.audit.AuditCheckpoints.Checkpoint::seq));
    families.add(
        gauge(
            "robusto_audit_uncheckpointed_rows",
            "Rows appended after the newest checkpoint: a cut of them would be caught by the anchor alone.",
            List.of(),
            Map.of(
                List.of(),
                (double)
                    Math.max(0, result.chainLength() - checkpoint.map(c -> c.seq()).orElse(0L)))));
    families.add(
        gauge(
            "robusto_audit_checkpoint_timestamp_seconds",
            "When the audit checkpointer wrote its newest checkpoint (0: never).",
            List.of(),
            Map.of(List.of(), checkpoint.map(c -> c.at().getEpochSecond() * 1.0).orElse(0.0))));
    anchoring
        .anchoredAt()
        .ifPresent(
            at ->
                families.add(
                    gauge(
                        "robusto_audit_anchor_timestamp_seconds",
                        "When the chain's last position was last copied out of the database.",
                        List.of(),
                        Map.of(List.of(), at.getEpochSecond() * 1.0))));
  }

  private static MetricFamilySamples gauge(
      String name, String help, List<String> labels, Map<List<String>, Double> values) {
    return family(name, name, Type.GAUGE, help, labels, values);
  }

  private static MetricFamilySamples counter(
      String name, String help, List<String> labels, Map<List<String>, Double> values) {
    return family(name, name + "_total", Type.COUNTER, help, labels, values);
  }

  private static MetricFamilySamples family(
      String name,
      String sampleName,
      Type type,
      String help,
      List<String> labels,
      Map<List<String>, Double> values) {
    var out = new ArrayList<MetricFamilySamples.Sample>();
    new LinkedHashMap<>(values)
        .forEach(
            (labelValues, value) ->
                out.add(new MetricFamilySamples.Sample(sampleName, labels, labelValues, value)));
    return new MetricFamilySamples(name, type, help, out);
  }
}
