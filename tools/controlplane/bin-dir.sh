#!/usr/bin/env bash
# Print the cache folder for the pinned control-plane binaries (keyed by version).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
echo "${XDG_CACHE_HOME:-$HOME/.cache}/agentcore-training/controlplane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
