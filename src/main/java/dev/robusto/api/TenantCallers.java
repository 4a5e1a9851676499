package dev.robusto.api;

import dev.robusto.operator.Hashes;
import dev.robusto.store.BatchStore;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which tenant a caller is: a ServiceAccount in a tenant's namespace speaks for that tenant. The
 * answer is cached for a minute per token (by its hash, never the token itself), so evaluation does
 * not wait on a TokenReview each time.
 */
@ApplicationScoped
public class TenantCallers {

  private static final Duration TTL = Duration.ofMinutes(1);
  private static final int MAX_ENTRIES = 10_000;
  private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

  private record Entry(String tenant, long expiresAt) {}

  private final KubeAuth auth;
  private final BatchStore store;
  private final Map<String, Entry> cache = new ConcurrentHashMap<>();

  TenantCallers(KubeAuth auth, BatchStore store) {
    this.auth = auth;
    this.store = store;
  }

  /** The caller's tenant if it was established within the last minute, else null. */
  public String cachedTenantOf(String authorization) {
    var cached = cache.get(cacheKey(authorization));
    return cached != null && cached.expiresAt() > System.nanoTime() ? cached.tenant() : null;
  }

  /** The caller's tenant, or 401/403 saying why; may ask the API server and the database. */
  public String tenantOf(String authorization) {
    var cached = cachedTenantOf(authorization);
    if (cached != null) {
      return cached;
    }
    var user = auth.authenticate(authorization).getUsername();
    String tenant = null;
    if (user.startsWith(SERVICE_ACCOUNT_PREFIX)) {
      var namespace = user.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":")[0];
      try {
        tenant = store.tenantOfNamespace(namespace).map(t -> t.tenantId()).orElse(null);
      } catch (SQLException e) {
        throw KubeAuth.refuse(503, "Cannot tell your tenant right now; retry.");
      }
    }
    if (tenant == null) {
      throw KubeAuth.refuse(
          403, user + " speaks for no tenant: use a ServiceAccount of the tenant's namespace.");
    }
    if (cache.size() > MAX_ENTRIES) {
      cache.clear();
    }
    cache.put(cacheKey(authorization), new Entry(tenant, System.nanoTime() + TTL.toNanos()));
    return tenant;
  }

  private static String cacheKey(String authorization) {
    return Hashes.sha256Hex(authorization == null ? "" : authorization);
  }
}
