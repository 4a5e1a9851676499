package dev.robusto.tenant;

import dev.robusto.audit.AuditLog;
import dev.robusto.audit.Auditor;
import dev.robusto.operator.Leadership;
import dev.robusto.operator.NamedKeys;
import dev.robusto.operator.Sql;
import dev.robusto.queue.WorkQueue;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Ticket payloads encrypted at rest, per tenant (envelope encryption). Each tenant has numbered
 * data keys in tenant_payload_keys, wrapped by the platform's key (the first of {@code
 * robusto.payload.keys}, from a Kubernetes Secret mounted as a file and read again every round, so
 * a rotation needs no restart) and by the tenant's payload key for its workers. New payloads are
 * sealed under the tenant's newest data key; any live version opens.
 *
 * <p>A rotation: put the new platform key first and keep the old one second. Each tenant then gets
 * a new data key under the new platform key, at once for new payloads; the leader re-encrypts the
 * older payloads (and those of the clear, from before encryption) under it in the background, and
 * drops a data key no payload needs once {@code robusto.payload.retire-after} has passed since it
 * was superseded (an enqueue that sealed under it just before has committed by then). The Tenant's
 * status.payloadEncryption shows the progress and which platform keys its data keys still need: the
 * old platform key may leave the Secret when no Tenant lists it.
 */
@ApplicationScoped
public class PayloadKeys {

  /** The key of the tenant's database Secret with its workers' payload key. */
  public static final String WORKER_KEY = "payload-key";

  private static final Logger LOG = Logger.getLogger(PayloadKeys.class);
  private static final String SETTING = "robusto.payload.keys";
  private static final String ACTOR = "robusto-operator/payload-keys";
  private static final int ROUND = 500;
  private static final List<String> PAYLOAD_TABLES =
      List.of("automation_items", "automation_item_outcomes");

  /** A platform key: its id as the setting names it, and the AES key derived from its bytes. */
  private record PlatformKey(String id, byte[] key) {}

  /** One of a tenant's data keys, opened. */
  private record DataKey(int version, String kekId, byte[] wrapped, byte[] key) {}

  /** One of a tenant's data keys as stored: wrapped by platform key {@code kekId}. */
  private record StoredKey(int version, String kekId, byte[] wrapped) {}

  private final DataSource dataSource;
  private final Sql sql;
  private final KubernetesClient client;
  private final Leadership leadership;
  private final Auditor audit;
  private final Optional<String> inlineKeys;
  private final Optional<String> keysFile;
  private final Duration retireAfter;
  private final Duration rescanAfter;
  private volatile List<PlatformKey> ring = List.of();
  private volatile String ringSource;

  /** Opened data keys by tenant:version. */
  private final Map<String, DataKey> opened = new ConcurrentHashMap<>();

  /**
   * Tenant:version pairs whose every payload was found under that version since the keys were last
   * read, and when: their rounds skip the scan until robusto.payload.rescan-after has passed.
   * Emptied when the keys change, so each tenant's payloads are scanned again after a start or a
   * new ring (payloads queued in the clear meanwhile included).
   */
  private final Map<String, java.time.Instant> complete = new ConcurrentHashMap<>();

  public PayloadKeys(
      DataSource dataSource,
      KubernetesClient client,
      Leadership leadership,
      AuditLog audit,
      @ConfigProperty(name = "robusto.payload.keys") Optional<String> inlineKeys,
      @ConfigProperty(name = "robusto.payload.keys-file") Optional<String> keysFile,
      @ConfigProperty(name = "robusto.payload.retire-after") Duration retireAfter,
      @ConfigProperty(name = "robusto.payload.rescan-after", defaultValue = "PT1H")
          Duration rescanAfter) {
    this.dataSource = dataSource;
    this.sql = new Sql(dataSource);
    this.client = client;
    this.leadership = leadership;
    this.audit = new Auditor(audit, ACTOR);
    this.inlineKeys = inlineKeys;
    this.keysFile = keysFile.filter(f -> !f.isBlank());
    this.retireAfter = retireAfter;
    this.rescanAfter = rescanAfter;
    reload();
  }

  /** Whether payloads are sealed: the setting holds a platform key. */
  public boolean enabled() {
    return !ring.isEmpty();
  }

  /**
   * Reads the platform keys again (the mounted Secret's file changes when the Secret does). A bad
   * file keeps the keys in force: a typo in a rotation does not stop every enqueue.
   */
  public final synchronized void reload() {
    String source;
    try {
      source =
          keysFile.isPresent()
              ? Files.readString(Path.of(keysFile.get())).strip()
              : inlineKeys.orElse("");
    } catch (IOException e) {
      LOG.warnf("Cannot read the payload keys from %s: %s", keysFile.get(), e.getMessage());
      return;
    }
    if (source.equals(ringSource)) {
      return;
    }
    try {
      var next =
          NamedKeys.parse(SETTING, source).stream()
              .map(k -> new PlatformKey(k.id(), platformKey(k.secret())))
              .toList();
      var ids = next.stream().map(PlatformKey::id).toList();
      var missing = inUse().stream().filter(id -> !ids.contains(id)).toList();
      if (!missing.isEmpty()) {
        // Without them no payload sealed under their data keys can be read again.
        LOG.errorf(
            "%s lacks platform keys %s, which tenants' data keys are still wrapped by: put them"
                + " back (after the current one) until no Tenant lists them in"
                + " status.payloadEncryption.platformKeysInUse%s",
            SETTING, missing, ringSource == null ? "" : "; keeping the keys in force");
        if (ringSource != null) {
          return;
        }
      }
      ring = next;
      ringSource = source;
      complete.clear();
      LOG.infof("Payload keys: %s", ids);
    } catch (IllegalArgumentException e) {
      if (ringSource == null) {
        throw e;
      }
      LOG.warnf("Keeping the payload keys in force: %s", e.getMessage());
    }
  }

  /** The platform keys tenants' data keys are wrapped by; none when that cannot be read yet. */
  private List<String> inUse() {
    try {
      return sql.list("SELECT DISTINCT kek_id FROM tenant_payload_keys", rs -> rs.getString(1));
    } catch (SQLException e) {
      return List.of(); // before the schema has the table
    }
  }

  /** The items with their payloads sealed under the tenant's current data key. */
  public List<WorkQueue.NewItem> seal(String tenantId, List<WorkQueue.NewItem> items)
      throws SQLException {
    if (!enabled() || items.isEmpty()) {
      return items;
    }
    var key = current(tenantId);
    var sealed = new ArrayList<WorkQueue.NewItem>(items.size());
    for (var item : items) {
      sealed.add(
          new WorkQueue.NewItem(
              item.key(),
              PayloadCipher.seal(key.key(), key.version(), tenantId, item.payloadJson())));
    }
    return sealed;
  }

  /** The payload as the tenant gave it: opened if sealed, as it is if of the clear. */
  public String open(String tenantId, String json)
      throws SQLException, PayloadCipher.UnreadablePayloadException {
    var sealed = PayloadCipher.sealed(json);
    if (sealed.isEmpty()) {
      return json;
    }
    var key = dataKey(tenantId, sealed.get().version());
    try {
      return PayloadCipher.open(key.key(), sealed.get(), tenantId);
    } catch (PayloadCipher.UnreadablePayloadException e) {
      // A tenant erased and made again numbers its keys from 1: the cached one may be the old one.
      opened.remove(tenantId + ":" + sealed.get().version());
      return PayloadCipher.open(
          dataKey(tenantId, sealed.get().version()).key(), sealed.get(), tenantId);
    }
  }

  /**
   * Brings a tenant's keys in step: a data key under the current platform key, every data key
   * wrapped for its workers under {@code payloadKey} (base64, its Secret's, as the reconcile just
   * wrote or read it); returns where it stands.
   */
  public TenantPayloadEncryption sync(String tenantId, String payloadKey) throws SQLException {
    if (!enabled()) {
      return TenantPayloadEncryption.disabled(platformKeysInUse(tenantId));
    }
    var current = current(tenantId);
    wrapForWorkers(tenantId, () -> workerKey(payloadKey), true);
    return progress(tenantId, current);
  }

  /**
   * The leader's round: new platform keys read, every tenant's keys in step, older payloads
   * re-encrypted, data keys no payload needs dropped.
   */
  @Scheduled(
      every = "${robusto.payload.rotation-interval}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void scheduled() {
    reload();
    if (!enabled() || !leadership.leads()) {
      return;
    }
    List<String> tenants;
    try {
      tenants =
          sql.list("SELECT tenant_id FROM tenant_config ORDER BY tenant_id", rs -> rs.getString(1));
    } catch (SQLException e) {
      LOG.warnf("Could not rotate payload keys: %s", e.getMessage());
      return;
    }
    for (var tenant : tenants) {
      if (!leadership.leads()) {
        return;
      }
      try {
        rotate(tenant);
      } catch (SQLException | RuntimeException e) {
        LOG.warnf("Tenant %s: could not rotate its payload keys: %s", tenant, e.getMessage());
      }
    }
  }

  /** One tenant's part of a round; returns the payloads re-encrypted. */
  public int rotate(String tenantId) throws SQLException {
    var current = current(tenantId);
    var namespace = liveNamespace(tenantId);
    wrapForWorkers(tenantId, () -> workerKey(namespace), false);
    var done = tenantId + ":" + current.version();
    if (isComplete(done) && !superseded(tenantId)) {
      return 0;
    }
    var reencrypted = 0;
    for (var table : PAYLOAD_TABLES) {
      reencrypted += reencrypt(tenantId, current, table);
    }
    if (progress(tenantId, current).getPendingPayloads() == 0) {
      complete.put(done, java.time.Instant.now());
    }
    retire(tenantId, current.version());
    return reencrypted;
  }

  /** Where the tenant's payloads stand: under its current data key, or still to re-encrypt. */
  TenantPayloadEncryption progress(String tenantId, DataKey current) throws SQLException {
    long pending = 0;
    for (var table : PAYLOAD_TABLES) {
      if (isComplete(tenantId + ":" + current.version())) {
        break;
      }
      pending +=
          sql.one(
                  "SELECT count(*) FROM %s WHERE tenant_id = ? AND %s".formatted(table, notUnder()),
                  rs -> rs.getLong(1),
                  tenantId,
                  Integer.toString(current.version()))
              .orElse(0L);
    }
    return new TenantPayloadEncryption(
        current.version(), current.kekId(), pending, platformKeysInUse(tenantId));
  }

  /**
   * Found complete within robusto.payload.rescan-after: payloads written in the clear since are
   * found at the next scan.
   */
  private boolean isComplete(String tenantVersion) {
    var since = complete.get(tenantVersion);
    return since != null && since.isAfter(java.time.Instant.now().minus(rescanAfter));
  }

  private boolean superseded(String tenantId) throws SQLException {
    return sql.one(
            "SELECT 1 FROM tenant_payload_keys WHERE tenant_id = ? AND superseded_at IS NOT NULL"
                + " LIMIT 1",
            rs -> true,
            tenantId)
        .isPresent();
  }

  private List<String> platformKeysInUse(String tenantId) throws SQLException {
    return sql.list(
        "SELECT DISTINCT kek_id FROM tenant_payload_keys WHERE tenant_id = ? ORDER BY kek_id",
        rs -> rs.getString(1),
        tenantId);
  }

  /** Rows whose payload is not sealed under the version given as the statement's next parameter. */
  private static String notUnder() {
    return "(payload -> '" + PayloadCipher.FIELD + "' ->> 'key') IS DISTINCT FROM ?";
  }

  /**
   * The tenant's newest data key, made when it has none or when the newest is wrapped by another
   * platform key than the current one (a rotation): new payloads go under the current key at once,
   * and its workers can open it from the moment it exists.
   */
  synchronized DataKey current(String tenantId) throws SQLException {
    var platform = ring.get(0);
    var newest =
        sql.one(
            "SELECT version, kek_id, wrapped FROM tenant_payload_keys WHERE tenant_id = ?"
                + " ORDER BY version DESC LIMIT 1",
            PayloadKeys::stored,
            tenantId);
    if (newest.isPresent() && platform.id().equals(newest.get().kekId())) {
      try {
        return opened(tenantId, newest.get());
      } catch (PayloadCipher.UnreadablePayloadException e) {
        // The current platform key's id names other bytes than it did: nothing can be sealed.
        throw new IllegalStateException(e.getMessage());
      }
    }
    var version = newest.map(n -> n.version() + 1).orElse(1);
    var key = PayloadCipher.newKey();
    var context = PayloadCipher.dataKeyContext(tenantId, version);
    var wrapped = PayloadCipher.wrap(platform.key(), key, context);
    var workerKey = workerKey(liveNamespace(tenantId));
    sql.inTransaction(
        c -> {
          Sql.update(
              c,
              "INSERT INTO tenant_payload_keys"
                  + " (tenant_id, version, kek_id, wrapped, worker_key_id, worker_wrapped)"
                  + " VALUES (?, ?, ?, ?, ?, ?)",
              tenantId,
              version,
              platform.id(),
              wrapped,
              // None for a retained tenant, or one whose Secret has no payload key yet.
              Sql.orNull(workerKey.map(PayloadCipher::keyId).orElse(null), Types.VARCHAR),
              Sql.orNull(
                  workerKey.map(w -> PayloadCipher.wrap(w, key, context)).orElse(null),
                  Types.BINARY));
          return Sql.update(
              c,
              "UPDATE tenant_payload_keys SET superseded_at = now()"
                  + " WHERE tenant_id = ? AND version < ? AND superseded_at IS NULL",
              tenantId,
              version);
        });
    audit.record(
        "create",
        "PayloadDataKey/%s/%d".formatted(tenantId, version),
        tenantId,
        null,
        "platform-key=" + platform.id());
    LOG.infof(
        "Tenant %s: payloads now sealed under data key %d (platform key %s)",
        tenantId, version, platform.id());
    var made = new DataKey(version, platform.id(), wrapped, key);
    opened.put(tenantId + ":" + version, made);
    return made;
  }

  /** Data key {@code version} of the tenant, opened with the platform key that wrapped it. */
  private DataKey dataKey(String tenantId, int version)
      throws SQLException, PayloadCipher.UnreadablePayloadException {
    var cached = opened.get(tenantId + ":" + version);
    if (cached != null) {
      return cached;
    }
    var row =
        sql.one(
            "SELECT version, kek_id, wrapped FROM tenant_payload_keys"
                + " WHERE tenant_id = ? AND version = ?",
            PayloadKeys::stored,
            tenantId,
            version);
    if (row.isEmpty()) {
      throw new PayloadCipher.UnreadablePayloadException(
          "tenant %s has no data key %d".formatted(tenantId, version));
    }
    return opened(tenantId, row.get());
  }

  /**
   * The stored key opened, from the cache when it holds this very key: a tenant erased and made
   * again numbers its keys from 1 anew, and must not get its predecessor's.
   */
  private DataKey opened(String tenantId, StoredKey stored)
      throws PayloadCipher.UnreadablePayloadException {
    var cached = opened.get(tenantId + ":" + stored.version());
    if (cached != null && java.util.Arrays.equals(cached.wrapped(), stored.wrapped())) {
      return cached;
    }
    var platform = ring.stream().filter(k -> k.id().equals(stored.kekId())).findFirst();
    if (platform.isEmpty()) {
      throw new PayloadCipher.UnreadablePayloadException(
          ("data key %d of tenant %s is wrapped by platform key %s, which %s does not hold: put"
                  + " it back (second) until the tenant's payloads are re-encrypted")
              .formatted(stored.version(), tenantId, stored.kekId(), SETTING));
    }
    try {
      var key =
          PayloadCipher.unwrap(
              platform.get().key(),
              stored.wrapped(),
              PayloadCipher.dataKeyContext(tenantId, stored.version()));
      var opened = new DataKey(stored.version(), stored.kekId(), stored.wrapped(), key);
      this.opened.put(tenantId + ":" + stored.version(), opened);
      return opened;
    } catch (GeneralSecurityException e) {
      throw new PayloadCipher.UnreadablePayloadException(
          "data key %d of tenant %s does not open with platform key %s"
              .formatted(stored.version(), tenantId, stored.kekId()));
    }
  }

  private static StoredKey stored(java.sql.ResultSet rs) throws SQLException {
    return new StoredKey(rs.getInt(1), rs.getString(2), rs.getBytes(3));
  }

  /**
   * The namespace of a live tenant; empty for one whose rows are retained (its namespace may be
   * another tenant's now, whose payload key must never wrap this one's data keys).
   */
  private Optional<String> liveNamespace(String tenantId) throws SQLException {
    return sql.one(
        "SELECT namespace FROM tenant_config WHERE tenant_id = ? AND retained_at IS NULL",
        rs -> rs.getString(1),
        tenantId);
  }

  /**
   * Wraps the tenant's data keys for its workers under the payload key of the Secret in its
   * namespace: those not wrapped for them yet and, when {@code everyKey} (at its reconciles), those
   * wrapped under another payload key (the Secret was made again). A Secret without one is left for
   * the Tenant's reconcile to complete.
   */
  private void wrapForWorkers(
      String tenantId, java.util.function.Supplier<Optional<byte[]>> payloadKey, boolean everyKey) {
    try {
      if (!everyKey
          && sql.one(
                  "SELECT 1 FROM tenant_payload_keys WHERE tenant_id = ? AND worker_key_id IS NULL"
                      + " LIMIT 1",
                  rs -> true,
                  tenantId)
              .isEmpty()) {
        return;
      }
      var workerKey = payloadKey.get();
      if (workerKey.isEmpty()) {
        return;
      }
      var workerKeyId = PayloadCipher.keyId(workerKey.get());
      var stale =
          sql.list(
              "SELECT version, kek_id, wrapped FROM tenant_payload_keys WHERE tenant_id = ?"
                  + " AND worker_key_id IS DISTINCT FROM ?",
              PayloadKeys::stored,
              tenantId,
              workerKeyId);
      for (var stored : stale) {
        var key = opened(tenantId, stored);
        sql.update(
            "UPDATE tenant_payload_keys SET worker_key_id = ?, worker_wrapped = ?"
                + " WHERE tenant_id = ? AND version = ?",
            workerKeyId,
            PayloadCipher.wrap(
                workerKey.get(),
                key.key(),
                PayloadCipher.dataKeyContext(tenantId, stored.version())),
            tenantId,
            stored.version());
      }
    } catch (SQLException | PayloadCipher.UnreadablePayloadException | RuntimeException e) {
      LOG.warnf(
          "Tenant %s: cannot wrap its data keys for its workers: %s", tenantId, e.getMessage());
    }
  }

  /** The payload key of the tenant's Secret; empty until it has one. */
  private Optional<byte[]> workerKey(Optional<String> namespace) {
    if (namespace.isEmpty() || client == null) {
      return Optional.empty();
    }
    var secret =
        client.secrets().inNamespace(namespace.get()).withName(TenantDatabaseSync.SECRET).get();
    return workerKey(TenantDatabaseSync.secretValue(secret, WORKER_KEY));
  }

  /** A payload key given in base64; empty when there is none or it is not a key. */
  private static Optional<byte[]> workerKey(String base64) {
    if (base64 == null) {
      return Optional.empty();
    }
    var key = Base64.getDecoder().decode(base64.strip());
    return key.length == PayloadCipher.KEY_BYTES ? Optional.of(key) : Optional.empty();
  }

  /**
   * Re-encrypts the tenant's payloads in {@code table} not under {@code current}, a round at a
   * time. A row changed meanwhile (moved to the outcomes, say) is left for the next pass; one that
   * cannot be opened stays as it is, counted as pending, and is logged.
   */
  private int reencrypt(String tenantId, DataKey current, String table) throws SQLException {
    var done = 0;
    var after = 0L;
    while (leadership.leads()) {
      var rows =
          sql.list(
              "SELECT item_id, payload::text FROM %s WHERE tenant_id = ? AND item_id > ? AND %s%s"
                      .formatted(table, notUnder(), queued(table))
                  + " ORDER BY item_id LIMIT "
                  + ROUND,
              rs -> Map.entry(rs.getLong(1), rs.getString(2)),
              tenantId,
              after,
              Integer.toString(current.version()));
      if (rows.isEmpty()) {
        return done;
      }
      var ids = new ArrayList<Long>();
      var before = new ArrayList<String>();
      var sealed = new ArrayList<String>();
      for (var row : rows) {
        after = row.getKey();
        try {
          var plain = open(tenantId, row.getValue());
          ids.add(row.getKey());
          before.add(row.getValue());
          sealed.add(PayloadCipher.seal(current.key(), current.version(), tenantId, plain));
        } catch (PayloadCipher.UnreadablePayloadException e) {
          LOG.warnf(
              "Tenant %s: ticket %d stays as it is: %s", tenantId, row.getKey(), e.getMessage());
        }
      }
      done +=
          sql.update(
              ("UPDATE %s t SET payload = u.sealed::jsonb"
                      + " FROM unnest(?::bigint[], ?::text[], ?::text[]) AS u(item_id, before, sealed)"
                      + " WHERE t.item_id = u.item_id AND t.payload = u.before::jsonb"
                      + " AND t.tenant_id = ?")
                  .formatted(table),
              Sql.array("bigint", ids.toArray()),
              Sql.array("text", before.toArray()),
              Sql.array("text", sealed.toArray()),
              tenantId);
    }
    return done;
  }

  /**
   * Of the queue, only payloads sealed already: one queued in the clear before encryption was on
   * may be in the hands of a worker of that release, which could not open it; it is sealed once
   * finished, in the outcomes.
   */
  private static String queued(String table) {
    return table.equals("automation_items")
        ? " AND (payload -> '" + PayloadCipher.FIELD + "') IS NOT NULL"
        : "";
  }

  /** Drops the tenant's data keys superseded long enough ago that no payload needs. */
  private void retire(String tenantId, int current) throws SQLException {
    var retired =
        sql.list(
            """
            DELETE FROM tenant_payload_keys k
             WHERE k.tenant_id = ? AND k.version < ?
               AND k.superseded_at < now() - ?::interval
               AND NOT EXISTS (SELECT FROM automation_items i WHERE i.tenant_id = k.tenant_id
                     AND (i.payload -> '%1$s' ->> 'key') = k.version::text)
               AND NOT EXISTS (SELECT FROM automation_item_outcomes o WHERE o.tenant_id = k.tenant_id
                     AND (o.payload -> '%1$s' ->> 'key') = k.version::text)
            RETURNING k.version, k.kek_id
            """
                .formatted(PayloadCipher.FIELD),
            rs -> Map.entry(rs.getInt(1), rs.getString(2)),
            tenantId,
            current,
            retireAfter.toMillis() + " milliseconds");
    for (var key : retired) {
      LOG.infof(
          "Tenant %s: data key %d (platform key %s) dropped, no payload needs it",
          tenantId, key.getKey(), key.getValue());
      audit.record(
          "delete",
          "PayloadDataKey/%s/%d".formatted(tenantId, key.getKey()),
          tenantId,
          "platform-key=" + key.getValue(),
          null);
    }
  }

  /** The AES key of a platform key's bytes, labelled so the same bytes used elsewhere differ. */
  private static byte[] platformKey(byte[] secret) {
    try {
      var digest = MessageDigest.getInstance("SHA-256");
      digest.update(
          "robusto-payload-platform-key:".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return digest.digest(secret);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is part of every JRE", e);
    }
  }
}
