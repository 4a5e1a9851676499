package dev.robusto.tenant;

import io.fabric8.kubernetes.api.model.LimitRange;
import io.fabric8.kubernetes.api.model.LimitRangeBuilder;
import io.fabric8.kubernetes.api.model.LimitRangeItem;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Matcher.Result;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** Container defaults and maximums, so pods without requests still count against the quota. */
@KubernetesDependent(informer = @Informer(labelSelector = TenantReconciler.MANAGED_SELECTOR))
public class TenantLimitRange extends TenantChildResource<LimitRange> {

  static final String NAME = "tenant-limits";

  public TenantLimitRange() {
    super(LimitRange.class);
  }

  @Override
  protected LimitRange desired(Tenant tenant, Context<Tenant> context) {
    var plan = TenantReconciler.plan(context);
    return new LimitRangeBuilder()
        .withMetadata(childMetadata(tenant, NAME))
        .withNewSpec()
        .addNewLimit()
        .withType("Container")
        .withDefaultRequest(plan.defaultRequest())
        .withDefault(plan.defaultLimit())
        .withMax(plan.maxLimit())
        .endLimit()
        .endSpec()
        .build();
  }

  @Override
  public Result<LimitRange> match(
      LimitRange actual, LimitRange desired, Tenant tenant, Context<Tenant> context) {
    var actualLimits = actual.getSpec().getLimits();
    var wanted = desired.getSpec().getLimits().get(0);
    var matches =
        Quantities.sameLabels(actual, desired)
            && actualLimits.size() == 1
            && sameItem(actualLimits.get(0), wanted);
    return Result.computed(matches, desired);
  }

  private static boolean sameItem(LimitRangeItem actual, LimitRangeItem desired) {
    return desired.getType().equals(actual.getType())
        && Quantities.equal(actual.getDefaultRequest(), desired.getDefaultRequest())
        && Quantities.equal(actual.getDefault(), desired.getDefault())
        && Quantities.equal(actual.getMax(), desired.getMax());
  }
}
