# shellcheck shell=bash
# Pinned versions of the local control plane and where its binaries are cached.
# Sourced by the other hack/ scripts; bump a version here and the cache key changes with it.
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.24}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
HELM_VERSION="${HELM_VERSION:-v3.19.5}"

ROBUSTO_CACHE="${ROBUSTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/robusto}"
# BUILD_RECIPE changes when this script builds differently, so stale caches are rebuilt.
BUILD_RECIPE=2
CONTROL_PLANE_KEY="r${BUILD_RECIPE}_k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}"
CONTROL_PLANE_BIN="${CONTROL_PLANE_BIN:-$ROBUSTO_CACHE/$CONTROL_PLANE_KEY/bin}"
