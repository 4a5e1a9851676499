package dev.robusto.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Writes a custom resource's status only when it differs from the current one. Uses optimistic
 * locking; on a conflict the status is recomputed from the fresher resource, so a reconcile that
 * ran on a stale cache never overwrites newer status nor reports a transition twice. The written
 * resource is cached for the next reconcile.
 */
public final class StatusWrites {

  /** The status a write replaced and the one it wrote, for Events about the transition. */
  public record Written<S>(S before, S after) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private StatusWrites() {}

  public static <R extends CustomResource<?, S>, S> Optional<Written<S>> write(
      R resource, Context<R> context, Function<R, S> compute, Supplier<R> blank) {
    if (sameJson(compute.apply(resource), resource.getStatus())) {
      return Optional.empty();
    }
    var replaced = new AtomicReference<S>();
    var written = new AtomicReference<S>();
    PrimaryUpdateAndCacheUtils.updateAndCacheResource(
        resource,
        context,
        current -> {
          var next = compute.apply(current);
          replaced.set(current.getStatus());
          written.set(next);
          var patch = blank.get();
          patch.getMetadata().setName(current.getMetadata().getName());
          patch.getMetadata().setNamespace(current.getMetadata().getNamespace());
          patch.setStatus(next);
          return patch;
        },
        statusPatch(context));
    return Optional.of(new Written<>(replaced.get(), written.get()));
  }

  /**
   * A copy of {@code status} to change without touching the cached resource (as the API server
   * stores it: through JSON), or {@code none} when there is no status yet.
   */
  public static <S> S copy(S status, Class<S> type, Supplier<S> none) {
    return status == null ? none.get() : JSON.convertValue(status, type);
  }

  /** Statuses are compared as the API server stores them: as JSON. */
  public static boolean sameJson(Object a, Object b) {
    return Objects.equals(a, b) || JSON.valueToTree(a).equals(JSON.valueToTree(b));
  }

  /** Server-side apply of the status, or a merge patch where the operator is set not to use SSA. */
  private static <R extends CustomResource<?, ?>> UnaryOperator<R> statusPatch(Context<R> context) {
    var configuration = context.getControllerConfiguration();
    var patch =
        configuration.getConfigurationService().useSSAToPatchPrimaryResource()
            ? new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager(configuration.fieldManager())
                .withForce(true)
                .build()
            : PatchContext.of(PatchType.JSON_MERGE);
    return r -> context.getClient().resource(r).subresource("status").patch(patch);
  }
}
