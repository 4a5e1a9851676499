# shellcheck shell=bash
# Helpers for running the operator on a local cluster; sourced by hack/run-local and hack/bench/*.
# Expects KUBECONFIG (admin) and PATH with kubectl and helm: eval "$(hack/local-cluster env)".

ROBUSTO_RELEASE=robusto-operator
# The key that seals this run's audit chain, as the chart's Secret gives one; kept for every
# operator this shell starts (the database is this run's too).
ROBUSTO_AUDIT_SEAL_KEYS="${ROBUSTO_AUDIT_SEAL_KEYS:-local-1:$(openssl rand -base64 32)}"
ROBUSTO_NAMESPACE=robusto-system
# The operator run here serves its APIs over HTTPS, and the audit webhook, on these ports.
ROBUSTO_HTTPS_PORT="${ROBUSTO_HTTPS_PORT:-8443}"
ROBUSTO_WEBHOOK_PORT="${ROBUSTO_WEBHOOK_PORT:-9443}"

# ROBUSTO_IMAGE=TARBALL (the image ./mvnw package -Pimage writes, target/jib-image.tar): the chart
# names that image, batch Jobs run it, and the local node runs their pods in it (as root, which a
# container runtime needs too). Unset: worker pods run as processes of the operator's classpath.
image_args=()
worker_image=""
if [ -n "${ROBUSTO_IMAGE:-}" ]; then
  ROBUSTO_IMAGE=$(realpath "$ROBUSTO_IMAGE")
  worker_image=$(tar -xOf "$ROBUSTO_IMAGE" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["RepoTags"][0])')
  image_args=(--set "image.repository=${worker_image%:*}" --set "image.tag=${worker_image##*:}")
fi

# The chart's CRDs, ServiceAccount and least-privilege ClusterRole, without an operator pod:
# the operator runs as a local process instead, with the chart's ServiceAccount identity.
install_chart() {
  # CRDs an earlier chart (0.1.0: crds/ folder) installed are handed to the release first.
  hack/adopt-crds "$ROBUSTO_RELEASE" "$ROBUSTO_NAMESPACE" >/dev/null
  # The audit webhook calls the operator run here, over HTTPS on loopback (start_operator).
  helm upgrade --install "$ROBUSTO_RELEASE" helm/robusto-operator -n "$ROBUSTO_NAMESPACE" \
    --create-namespace --set replicaCount=0 --set database.password=unused-by-local-runs \
    --set database.owner.password=unused-by-local-runs --set 'tls.extraIPs={127.0.0.1}' \
    --set audit.checkpointer.database.password=unused-by-local-runs --set audit.checkpointer.replicas=0 \
    --set admissionAudit.url="https://127.0.0.1:$ROBUSTO_WEBHOOK_PORT/admission/audit" \
    "${image_args[@]}" --wait --timeout 120s >/dev/null
  kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
}

# operator_kubeconfig FILE [SERVICEACCOUNT]: a kubeconfig that authenticates as the chart's
# ServiceAccount (the operator's unless another of the release namespace is named).
operator_kubeconfig() {
  local file=$1 account=${2:-$ROBUSTO_RELEASE} server token
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  token=$(kubectl create token "$account" -n "$ROBUSTO_NAMESPACE" --duration=24h)
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", insecure-skip-tls-verify: true}}]
users: [{name: robusto-operator, user: {token: "$token"}}]
contexts: [{name: operator, context: {cluster: local, user: robusto-operator}}]
current-context: operator
KC
  chmod 600 "$file"
}

# build_operator: the runnable jar (target/quarkus-app), rebuilt when sources are newer.
build_operator() {
  local jar=target/quarkus-app/quarkus-run.jar
  if [ ! -f "$jar" ] || [ -n "$(find src pom.xml -newer "$jar" -type f | head -n 1)" ]; then
    echo "[robusto] building the operator (./mvnw package)" >&2
    ./mvnw -q -B package -DskipTests
  fi
}

# migrate_database: the schema migrated as its owner (ROBUSTO_DATABASE_OWNER_*, from hack/postgres)
# before the operator starts, which logs in as a role that owns nothing; the chart's init
# container runs the same class.
migrate_database() {
  java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*:target/quarkus-app/lib/boot/*" \
    dev.robusto.operator.DatabaseMigration >&2
}

# start_operator KUBECONFIG PORT LOG: starts the operator as a background child of the calling
# shell (so the caller can wait for it) and sets operator_pid; fails when it does not get ready.
# Call it directly, never in $(...): a command substitution's child is not the caller's to wait for.
start_operator() {
  migrate_database
  # The chart's certificate (it covers 127.0.0.1 in local installs), as the pod would mount it.
  local tls="$ROBUSTO_CLUSTER_DIR/tls" key
  mkdir -p "$tls" && chmod 700 "$tls"
  for key in tls.crt tls.key; do
    kubectl get secret "$ROBUSTO_RELEASE-tls" -n "$ROBUSTO_NAMESPACE" \
      -o jsonpath="{.data.${key//./\\.}}" | base64 -d >"$tls/$key"
  done
  # shellcheck disable=SC2086 # ROBUSTO_JAVA_OPTS is a space-separated list of JVM options: split on purpose
  KUBECONFIG="$1" QUARKUS_HTTP_PORT="$2" ROBUSTO_BATCH_WORKER_IMAGE="${worker_image:-robusto-operator:dev}" \
    ROBUSTO_AUDIT_SEAL_KEYS="$ROBUSTO_AUDIT_SEAL_KEYS" QUARKUS_HTTP_SSL_PORT="$ROBUSTO_HTTPS_PORT" \
    QUARKUS_HTTP_SSL_CERTIFICATE_FILES="$tls/tls.crt" QUARKUS_HTTP_SSL_CERTIFICATE_KEY_FILES="$tls/tls.key" \
    ROBUSTO_AUDIT_WEBHOOK_PORT="$ROBUSTO_WEBHOOK_PORT" ROBUSTO_AUDIT_WEBHOOK_CERT_FILE="$tls/tls.crt" \
    ROBUSTO_AUDIT_WEBHOOK_KEY_FILE="$tls/tls.key" \
    java ${ROBUSTO_JAVA_OPTS:-} \
    -jar target/quarkus-app/quarkus-run.jar >"$3" 2>&1 &
  operator_pid=$!
  local deadline=$(( $(date +%s) + 60 ))
  until curl -sf "http://127.0.0.1:$2/q/health/ready" >/dev/null; do
    if ! kill -0 "$operator_pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "[robusto] ERROR: the operator did not become ready; its log:" >&2
      tail -n 40 "$3" >&2
      return 1
    fi
    sleep 0.5
  done
}

# stop_operator: SIGTERM, up to 15 s for a clean shutdown, then SIGKILL; returns once it is gone.
# Called before the cluster and PostgreSQL go, so the operator never outlives them.
stop_operator() {
  [ -n "${operator_pid:-}" ] || return 0
  if kill -TERM "$operator_pid" 2>/dev/null; then
    local start=$SECONDS
    for _ in $(seq 150); do kill -0 "$operator_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$operator_pid" 2>/dev/null; then
      echo "[robusto] the operator did not stop within 15 s of SIGTERM; killing it" >&2
      kill -KILL "$operator_pid" 2>/dev/null || true
    else
      echo "[robusto] operator stopped ($(( SECONDS - start )) s after SIGTERM)" >&2
    fi
  fi
  wait "$operator_pid" 2>/dev/null || true
  operator_pid=""
}

# The operator's artifact as a classpath, for its other mains (local node, example portals, CLI).
ROBUSTO_APP_CLASSPATH="target/quarkus-app/app/*:target/quarkus-app/lib/main/*:target/quarkus-app/lib/boot/*"

# start_local_node DIR: the local node agent (dev.robusto.localnode.LocalNodeMain) in the
# background, as the admin of KUBECONFIG: it runs the worker pods of batches and fleets as
# processes (KWOK's nodes run no containers), their output under DIR/workers. Sets local_node_pid.
start_local_node() {
  mkdir -p "$1/workers"
  java -Xmx192m -cp "$ROBUSTO_APP_CLASSPATH" dev.robusto.localnode.LocalNodeMain "$1/workers" \
    ${ROBUSTO_IMAGE:+"$ROBUSTO_IMAGE"} >"$1/local-node.log" 2>&1 &
  # shellcheck disable=SC2034 # the caller's, to stop it
  local_node_pid=$!
}

# start_example_portals LOG: the seeds' test merchants (OXXO, Litro Mil, Simple Portal) on
# 127.0.0.1:18080, which examples/local-portals/ names. Sets portals_pid.
start_example_portals() {
  java -Xmx96m -cp "$ROBUSTO_APP_CLASSPATH" dev.robusto.localnode.ExamplePortals 18080 >"$1" 2>&1 &
  # shellcheck disable=SC2034 # the caller's, to stop it
  portals_pid=$!
}

# start_checkpointer LOG: the audit checkpointer (dev.robusto.audit.AuditCheckpointer) in the
# background, as the chart's Deployment runs it: as its own ServiceAccount and database login
# (ROBUSTO_DATABASE_CHECKPOINTER_*, from hack/postgres), every 100 rows or minute so a short run
# sees checkpoints. Sets checkpointer_pid.
start_checkpointer() {
  local identity="$ROBUSTO_CLUSTER_DIR/checkpointer.kubeconfig"
  operator_kubeconfig "$identity" "$ROBUSTO_RELEASE-audit-checkpointer"
  KUBECONFIG="$identity" ROBUSTO_OPERATOR_NAMESPACE="$ROBUSTO_NAMESPACE" \
    QUARKUS_DATASOURCE_USERNAME="$ROBUSTO_DATABASE_CHECKPOINTER_USERNAME" \
    QUARKUS_DATASOURCE_PASSWORD="$ROBUSTO_DATABASE_CHECKPOINTER_PASSWORD" \
    ROBUSTO_AUDIT_CHECKPOINT_ROWS=100 ROBUSTO_AUDIT_CHECKPOINT_INTERVAL=1m \
    java -Xmx96m -cp "$ROBUSTO_APP_CLASSPATH" dev.robusto.audit.AuditCheckpointer >"$1" 2>&1 &
  # shellcheck disable=SC2034 # the caller's, to stop it
  checkpointer_pid=$!
}

# stop_pid PID SECONDS: SIGTERM, up to SECONDS for it to end, then SIGKILL; returns once it is gone.
stop_pid() {
  [ -n "$1" ] || return 0
  if kill -TERM "$1" 2>/dev/null; then
    for _ in $(seq $(( $2 * 10 ))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}

# run_benchmark_main CLASS ARGS...: runs a benchmark main from the test classes against a fresh
# PostgreSQL 17 with durable settings (hack/postgres; the zonky server the tests use has fsync off).
run_benchmark_main() {
  local class=$1; shift
  export ROBUSTO_PG_DIR="${ROBUSTO_PG_DIR:-$(mktemp -d /tmp/robusto-bench-pg.XXXXXX)}"
  trap 'hack/postgres down >/dev/null 2>&1 || true' EXIT
  # shellcheck disable=SC1090
  source "$(hack/postgres up)"
  ROBUSTO_PG_PORT="${QUARKUS_DATASOURCE_JDBC_URL##*:}"
  export ROBUSTO_PG_PORT="${ROBUSTO_PG_PORT%%/*}"
  if ! ./mvnw -q -B test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >target/bench-build.log 2>&1; then
    echo "[robusto] ERROR: the benchmark did not build; the build's last lines:" >&2
    tail -n 30 target/bench-build.log >&2
    return 1
  fi
  java -cp "target/classes:target/test-classes:$(cat target/test-classpath.txt)" "$class" "$@"
}
