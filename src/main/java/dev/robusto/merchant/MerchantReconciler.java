package dev.robusto.merchant;

import dev.robusto.operator.KubeEvents;
import dev.robusto.operator.LogContext;
import dev.robusto.operator.StatusWrites;
import dev.robusto.tenant.TenantDirectory;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;
import java.util.function.Function;

/**
 * Keeps a Merchant's status true to what its tenant's workers report (polled from PostgreSQL every
 * {@link #POLL}): the credential in use, the circuits, the last hour's success rate, and Ready with
 * what to do when the portal refuses both credentials, the Secret lacks them, or every URL's
 * circuit is open. It changes nothing else: workers read the merchant when their Job starts.
 */
@ControllerConfiguration(name = "merchant")
@GradualRetry(
    maxAttempts = -1,
    initialInterval = 1_000,
    intervalMultiplier = 2,
    maxInterval = 60_000)
public class MerchantReconciler implements Reconciler<Merchant> {

  static final Duration POLL = Duration.ofSeconds(15);

  private final TenantDirectory tenants;
  private final MerchantObservations observations;

  public MerchantReconciler(TenantDirectory tenants, MerchantObservations observations) {
    this.tenants = tenants;
    this.observations = observations;
  }

  @Override
  public UpdateControl<Merchant> reconcile(Merchant merchant, Context<Merchant> context)
      throws SQLException {
    try {
      var tenant = tenants.ofNamespace(merchant.getMetadata().getNamespace());
      if (tenant.isEmpty()) {
        writeStatus(merchant, context, MerchantStatusAggregator::noTenant);
        return UpdateControl.<Merchant>noUpdate().rescheduleAfter(POLL);
      }
      var tenantId = tenant.get().tenantId();
      LogContext.tenant(tenantId);
      var circuits = MerchantRoute.circuitNames(merchant.getSpec());
      var seen = observations.of(tenantId, merchant.getMetadata().getName(), circuits);
      writeStatus(merchant, context, m -> MerchantStatusAggregator.of(m, tenantId, circuits, seen));
      return UpdateControl.<Merchant>noUpdate().rescheduleAfter(POLL);
    } finally {
      LogContext.clear();
    }
  }

  @Override
  public ErrorStatusUpdateControl<Merchant> updateErrorStatus(
      Merchant merchant, Context<Merchant> context, Exception error) {
    writeStatus(merchant, context, m -> MerchantStatusAggregator.failed(m, error));
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  private static void writeStatus(
      Merchant merchant, Context<Merchant> context, Function<Merchant, MerchantStatus> compute) {
    StatusWrites.write(merchant, context, compute, Merchant::new)
        .ifPresent(
            w ->
                KubeEvents.transitions(
                    context.getClient(),
                    merchant,
                    w.before() == null ? null : w.before().conditions,
                    w.after().conditions,
                    Set.of(MerchantStatusAggregator.READY),
                    type -> false));
  }
}
