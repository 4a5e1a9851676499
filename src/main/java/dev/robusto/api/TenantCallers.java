package dev.robusto.api;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.robusto.tenant.TenantDirectory;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Which tenant a caller is: a ServiceAccount in a tenant's namespace speaks for that tenant. Who a
 * token belongs to comes from {@link KubeAuth}'s cache, and the user's tenant from a bounded cache
 * of its own (a minute; 10 s for "no tenant"), so evaluation does not wait on the API server or the
 * database each time. Every answer counts against the caller's OFREP rate ({@link CallerLimits}).
 */
@ApplicationScoped
public class TenantCallers {

  private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

  private final KubeAuth auth;
  private final TenantDirectory directory;
  private final CallerLimits limits;
  private final Cache<String, Optional<String>> tenants =
      Caffeine.newBuilder()
          .maximumSize(10_000)
          .expireAfter(
              KubeAuth.expiry(
                  (String user, Optional<String> t) -> t.isPresent(), KubeAuth.IDENTITY_TTL))
          .build();

  TenantCallers(KubeAuth auth, TenantDirectory directory, CallerLimits limits) {
    this.auth = auth;
    this.directory = directory;
    this.limits = limits;
  }

  /**
   * The caller's tenant if both its token and its tenant were established lately, else null; 401,
   * 403 or 429 when the cache already knows the answer. Never blocks.
   */
  public String cachedTenantOf(String authorization) {
    var user = auth.cachedUser(authorization);
    if (user == null) {
      return null;
    }
    var tenant = tenants.getIfPresent(user.getUsername());
    return tenant == null ? null : admitted(user, tenant);
  }

  /** The caller's tenant, or 401/403/429 saying why; may ask the API server and the database. */
  public String tenantOf(String authorization) {
    var user = auth.authenticate(authorization);
    return admitted(user, tenants.get(user.getUsername(), this::lookUp));
  }

  private String admitted(UserInfo user, Optional<String> tenant) {
    if (tenant.isEmpty()) {
      throw KubeAuth.refuse(
          403,
          user.getUsername()
              + " speaks for no tenant: use a ServiceAccount of the tenant's namespace.");
    }
    limits.admit(CallerLimits.Api.OFREP, user.getUsername());
    return tenant.get();
  }

  private Optional<String> lookUp(String user) {
    if (!user.startsWith(SERVICE_ACCOUNT_PREFIX)) {
      return Optional.empty();
    }
    var namespace = user.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":")[0];
    try {
      return directory.ofNamespace(namespace).map(t -> t.tenantId());
    } catch (SQLException e) {
      throw KubeAuth.refuse(503, "Cannot tell your tenant right now; retry.");
    }
  }
}
