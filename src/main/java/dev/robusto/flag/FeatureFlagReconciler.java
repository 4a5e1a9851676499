package dev.robusto.flag;

import dev.robusto.audit.AuditLog;
import dev.robusto.metrics.MetricUnavailableException;
import dev.robusto.metrics.PrometheusQueries;
import dev.robusto.operator.Conditions;
import dev.robusto.operator.Durations;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.StatusWrites;
import dev.robusto.tenant.Tenant;
import io.fabric8.kubernetes.api.model.Condition;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * A FeatureFlag's status: how many tenants get each variant, whether its spec is usable (and what
 * to fix when not), and why it is disabled, for everyone or for some tenants, when it is. Tenants
 * coming and going update the counts. Not generation-aware: a person turning the flag back on for a
 * tenant removes an annotation, which does not move the generation.
 */
@ControllerConfiguration(name = "featureflag", generationAwareEventProcessing = false)
@GradualRetry(
    maxAttempts = -1,
    initialInterval = 1_000,
    intervalMultiplier = 2,
    maxInterval = 60_000)
public class FeatureFlagReconciler implements Reconciler<FeatureFlag> {

  static final String READY = Conditions.READY;
  static final String DISABLED = "Disabled";
  static final String AUTO_DISABLE = "AutoDisable";
  private final PlatformMetrics metrics;
  private final PrometheusQueries prometheus;
  private final AuditLog audit;
  private final Duration checkInterval;
  private final Clock clock;
  private final MeterRegistry registry;
  private InformerEventSource<Tenant, FeatureFlag> tenants;

  public FeatureFlagReconciler(
      PlatformMetrics metrics,
      PrometheusQueries prometheus,
      AuditLog audit,
      @ConfigProperty(name = "robusto.flag.auto-disable-check") Duration checkInterval,
      Clock clock,
      MeterRegistry registry) {
    this.metrics = metrics;
    this.prometheus = prometheus;
    this.audit = audit;
    this.checkInterval = checkInterval;
    this.clock = clock;
    this.registry = registry;
  }

  @Override
  public List<EventSource<?, FeatureFlag>> prepareEventSources(
      EventSourceContext<FeatureFlag> context) {
    tenants =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Tenant.class, FeatureFlag.class)
                .withName("flag-tenants")
                .withSecondaryToPrimaryMapper(tenant -> everyPrimary(context))
                .build(),
            context);
    return List.of(tenants);
  }

  @Override
  public UpdateControl<FeatureFlag> reconcile(FeatureFlag flag, Context<FeatureFlag> context)
      throws SQLException {
    var errors = FlagEvaluation.specErrors(flag.getSpec());
    var perVariant = new TreeMap<String, Integer>();
    if (errors.isEmpty()) {
      tenants
          .list(t -> true)
          .map(t -> FlagEvaluation.of(flag, t.getMetadata().getName()))
          .forEach(
              e ->
                  perVariant.merge(
                      e.variant() == null ? "(disabled)" : e.variant(), 1, Integer::sum));
    }
    var watch = flag.getSpec().autoDisable;
    var watching =
        watch != null && errors.isEmpty() && flag.getSpec().state == FeatureFlagSpec.State.ENABLED;
    var breaches = List.<Breach>of();
    String unavailable = null;
    if (watching) {
      try {
        breaches = breaches(flag, watch);
      } catch (MetricUnavailableException e) {
        unavailable = e.getMessage();
      }
    }
    var metricProblem = unavailable;
    StatusWrites.write(
            flag,
            context,
            f -> status(f, errors, perVariant, metricProblem, checkInterval, clock.instant()),
            FeatureFlag::new)
        .ifPresent(
            w ->
                KubeEvents.transitions(
                    context.getClient(),
                    flag,
                    w.before() == null ? null : w.before().conditions,
                    w.after().conditions,
                    Set.of(READY, AUTO_DISABLE),
                    type -> false));
    breaches.forEach(breach -> disable(flag, breach, context));
    return watching
        ? UpdateControl.<FeatureFlag>noUpdate().rescheduleAfter(checkInterval)
        : UpdateControl.noUpdate();
  }

  /**
   * A failed reconcile (the database behind the built-in metrics, the API server) says why in
   * Ready; the framework retries it with backoff, never giving up, so the flag's watch resumes.
   */
  @Override
  public ErrorStatusUpdateControl<FeatureFlag> updateErrorStatus(
      FeatureFlag flag, Context<FeatureFlag> context, Exception error) {
    StatusWrites.write(
        flag,
        context,
        current -> {
          var status =
              StatusWrites.copy(
                  current.getStatus(), FeatureFlagStatus.class, FeatureFlagStatus::new);
          status.conditions =
              Conditions.notReady(status.conditions, current.getMetadata().getGeneration(), error);
          return status;
        },
        FeatureFlag::new);
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  /** A breach of the flag's metric: for one tenant, or for every tenant when tenant is null. */
  record Breach(String tenant, String reason) {}

  /**
   * The breaches of the flag's metric now. A Prometheus query (the platform's) speaks for every
   * tenant; the built-in metrics judge each tenant the flag is on for by its own tickets.
   */
  private List<Breach> breaches(FeatureFlag flag, FeatureFlagSpec.AutoDisable watch)
      throws SQLException, MetricUnavailableException {
    if ("prometheus".equals(watch.metric)) {
      var value = prometheus.query(watch.query);
      if (value.isEmpty() || value.getAsDouble() <= watch.threshold) {
        return List.of();
      }
      return List.of(
          new Breach(
              null,
              "Auto-disabled: the Prometheus query %s returned %.3f, over %.3f."
                      .formatted(watch.query, value.getAsDouble(), watch.threshold)
                  + " Set spec.state to ENABLED to turn it back on."));
    }
    var on =
        tenants
            .list(t -> true)
            .map(t -> t.getMetadata().getName())
            .filter(
                t -> {
                  var value = FlagEvaluation.of(flag, t).value();
                  return value != null && !(value.isBoolean() && !value.asBoolean());
                })
            .toList();
    var breaches = new ArrayList<Breach>();
    metrics
        .outcomesByTenant(on, Durations.parse(watch.window))
        .forEach(
            (tenant, outcomes) -> {
              var value =
                  "deadLetterRate".equals(watch.metric)
                      ? outcomes.deadLetterRate()
                      : outcomes.failureRate();
              if (outcomes.finished() >= watch.minSamples && value > watch.threshold) {
                breaches.add(
                    new Breach(
                        tenant,
                        ("Auto-disabled for tenant %s: %s %.3f exceeded %.3f over the last %s"
                                + " (%d tickets). Remove the annotation %s%s to turn it back on.")
                            .formatted(
                                tenant,
                                watch.metric,
                                value,
                                watch.threshold,
                                watch.window,
                                outcomes.finished(),
                                FlagSwitch.DISABLED_FOR,
                                tenant)));
              }
            });
    return breaches;
  }

  /**
   * Turns the flag off, for a tenant or for all, says why, and leaves turning it on to a person.
   */
  private void disable(FeatureFlag flag, Breach breach, Context<FeatureFlag> context) {
    var name = flag.getMetadata().getName();
    var client = context.getClient();
    var turnedOff =
        breach.tenant() == null
            ? FlagSwitch.turnOff(client, audit, TenantFlagsReconciler.ACTOR, name, breach.reason())
            : FlagSwitch.turnOffFor(
                client, audit, TenantFlagsReconciler.ACTOR, name, breach.tenant(), breach.reason());
    if (turnedOff) {
      registry
          .counter(
              "robusto.flag.auto.disables", "scope", breach.tenant() == null ? "all" : "tenant")
          .increment();
      event(context, flag, KubeEvents.WARNING, "AutoDisabled", breach.reason());
    }
  }

  static FeatureFlagStatus status(
      FeatureFlag flag,
      List<String> errors,
      TreeMap<String, Integer> perVariant,
      String metricProblem,
      Duration checkInterval,
      Instant now) {
    var status = new FeatureFlagStatus();
    var old = flag.getStatus();
    status.observedGeneration = flag.getMetadata().getGeneration();
    status.tenantsPerVariant = perVariant;
    var changed = old == null || !perVariant.equals(old.tenantsPerVariant);
    status.lastChange = changed ? now.toString() : old.lastChange;
    var disabled = flag.getSpec().state == FeatureFlagSpec.State.DISABLED;
    var annotations = flag.getMetadata().getAnnotations();
    var auto =
        disabled
            && annotations != null
            && String.valueOf(flag.getMetadata().getGeneration())
                .equals(annotations.get(FlagSwitch.AUTO_DISABLED_GENERATION));
    status.disabledReason =
        !disabled
            ? null
            : auto
                ? annotations.get(FlagSwitch.AUTO_DISABLED_REASON)
                : "Turned off by hand (spec.state: DISABLED); every tenant gets its code default.";
    var offForSome = FlagSwitch.disabledTenants(flag);
    status.disabledTenants = offForSome.isEmpty() ? null : offForSome;
    var conditions = new ArrayList<Condition>();
    conditions.add(
        errors.isEmpty()
            ? condition(
                flag,
                READY,
                true,
                "Served",
                "Served to %d tenants."
                    .formatted(perVariant.values().stream().mapToInt(Integer::intValue).sum()))
            : condition(
                flag,
                READY,
                false,
                "InvalidSpec",
                "Not served until fixed: " + String.join("; ", errors) + "."));
    if (!errors.isEmpty()) {
      conditions.add(
          condition(
              flag,
              Conditions.STALLED,
              true,
              "InvalidSpec",
              "Fix the spec: " + String.join("; ", errors) + "."));
    }
    conditions.add(disabledCondition(flag, status, auto));
    var watch = flag.getSpec().autoDisable;
    if (watch != null) {
      conditions.add(autoDisableCondition(flag, metricProblem, checkInterval));
    }
    status.conditions = List.copyOf(conditions);
    return status;
  }

  /** Off for everyone (by hand or automatically), off for some tenants, or on. */
  private static Condition disabledCondition(
      FeatureFlag flag, FeatureFlagStatus status, boolean auto) {
    if (flag.getSpec().state == FeatureFlagSpec.State.DISABLED) {
      return condition(
          flag, DISABLED, true, auto ? "AutoDisabled" : "KillSwitch", status.disabledReason);
    }
    if (status.disabledTenants == null) {
      return condition(flag, DISABLED, false, "Enabled", "The flag is on.");
    }
    return condition(
        flag,
        DISABLED,
        false,
        "OffForSomeTenants",
        ("On, but off for %s (status.disabledTenants says why). Remove the"
                + " annotation %s<tenant> to turn it back on for a tenant.")
            .formatted(
                String.join(", ", status.disabledTenants.keySet()), FlagSwitch.DISABLED_FOR));
  }

  /** Whether the flag's metric is watched, and against what. */
  private static Condition autoDisableCondition(
      FeatureFlag flag, String metricProblem, Duration checkInterval) {
    if (metricProblem != null) {
      return condition(flag, AUTO_DISABLE, false, "MetricUnavailable", metricProblem);
    }
    if (flag.getSpec().state == FeatureFlagSpec.State.DISABLED) {
      return condition(
          flag, AUTO_DISABLE, false, "Off", "The flag is off; its metric is not checked.");
    }
    var watch = flag.getSpec().autoDisable;
    return condition(
        flag,
        AUTO_DISABLE,
        true,
        "Watching",
        "Checks %s every %s against %s."
            .formatted(
                "prometheus".equals(watch.metric) ? watch.query : watch.metric,
                checkInterval.toSeconds() + " s",
                watch.threshold));
  }

  /** Events about a cluster-scoped flag go to the default namespace, as Kubernetes does. */
  private static void event(
      Context<FeatureFlag> context, FeatureFlag flag, String type, String reason, String message) {
    KubeEvents.record(context.getClient(), flag, type, reason, message);
  }

  private static Condition condition(
      FeatureFlag flag, String type, boolean value, String reason, String message) {
    return Conditions.of(
        flag.getStatus() == null ? null : flag.getStatus().conditions,
        flag.getMetadata().getGeneration(),
        type,
        value,
        reason,
        message);
  }

  /** Maps any event to every primary: a flag concerns every tenant, a tenant every flag. */
  static <P extends io.fabric8.kubernetes.api.model.HasMetadata>
      java.util.Set<ResourceID> everyPrimary(EventSourceContext<P> context) {
    return context
        .getPrimaryCache()
        .list()
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }
}
