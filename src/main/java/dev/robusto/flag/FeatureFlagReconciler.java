package dev.robusto.flag;

import dev.robusto.operator.Conditions;
import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.StatusWrites;
import dev.robusto.tenant.Tenant;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A FeatureFlag's status: how many tenants get each variant, whether its spec is usable (and what
 * to fix when not), and why it is disabled when it is. Tenants coming and going update the counts.
 */
@ControllerConfiguration(name = "featureflag")
public class FeatureFlagReconciler implements Reconciler<FeatureFlag> {

  static final String READY = "Ready";
  static final String DISABLED = "Disabled";
  private InformerEventSource<Tenant, FeatureFlag> tenants;

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
  public UpdateControl<FeatureFlag> reconcile(FeatureFlag flag, Context<FeatureFlag> context) {
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
    StatusWrites.write(flag, context, f -> status(f, errors, perVariant), FeatureFlag::new)
        .ifPresent(
            w -> {
              var ready = condition(w.after(), READY);
              var before = w.before() == null ? null : condition(w.before(), READY);
              if (before == null || !before.getReason().equals(ready.getReason())) {
                KubeEvents.record(
                    context.getClient(),
                    "default",
                    new ObjectReferenceBuilder()
                        .withApiVersion(flag.getApiVersion())
                        .withKind(flag.getKind())
                        .withName(flag.getMetadata().getName())
                        .withUid(flag.getMetadata().getUid())
                        .build(),
                    "True".equals(ready.getStatus()) ? KubeEvents.NORMAL : KubeEvents.WARNING,
                    ready.getReason(),
                    ready.getMessage());
              }
            });
    return UpdateControl.noUpdate();
  }

  static FeatureFlagStatus status(
      FeatureFlag flag, List<String> errors, TreeMap<String, Integer> perVariant) {
    var status = new FeatureFlagStatus();
    var old = flag.getStatus();
    status.observedGeneration = flag.getMetadata().getGeneration();
    status.tenantsPerVariant = perVariant;
    var changed = old == null || !perVariant.equals(old.tenantsPerVariant);
    status.lastChange = changed ? Instant.now().toString() : old.lastChange;
    var disabled = flag.getSpec().state == FeatureFlagSpec.State.DISABLED;
    status.disabledReason =
        disabled
            ? old != null && old.disabledReason != null
                ? old.disabledReason
                : "Turned off by hand (spec.state: DISABLED); every tenant gets its code default."
            : null;
    status.conditions =
        List.of(
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
                    "Not served until fixed: " + String.join("; ", errors) + "."),
            disabled
                ? condition(flag, DISABLED, true, "KillSwitch", status.disabledReason)
                : condition(flag, DISABLED, false, "Enabled", "The flag is on."));
    return status;
  }

  private static Condition condition(FeatureFlagStatus status, String type) {
    return status.conditions.stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElse(null);
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
