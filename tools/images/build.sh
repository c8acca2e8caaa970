#!/usr/bin/env bash
# Build a project image from its Containerfile with buildah (chroot isolation, no daemon, no
# registry: the bases come from tools/images/base.sh) and write it as an OCI archive in the
# cache; print the archive's path. Unchanged inputs reuse the archive; an unchanged uv.lock
# reuses the dependency layer (buildah's layer cache), so a code change rebuilds only /opt/app.
# Each build then prunes the store to the current builds and bases (tools/images/prune.py).
#   usage: build.sh trainer|trainer-cpu|operator
# trainer-cpu: the trainer's Dockerfile with TORCH_DEVICE=cpu (no nvidia-*/triton packages).
# Import into a node:  ctr -n k8s.io images import --base-name <repository> ARCHIVE (tag 0.1.0)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
device=()
case ${1:?usage: build.sh trainer|trainer-cpu|operator} in
  trainer) file=Dockerfile ;;
  trainer-cpu) file=Dockerfile; device=(--build-arg TORCH_DEVICE=cpu) ;;
  operator) file=Dockerfile.operator ;;
  *) echo "unknown image $1" >&2; exit 2 ;;
esac
name=$1
cd "$repo"
# Paths relative to the repository: the same inputs give the same key in any clone.
inputs=$( { echo "$name"; sha256sum "$file" pyproject.toml uv.lock README.md tools/images/{build,base}.sh \
              tools/images/cuda_stubs.py
            find operator -type f -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -print0 \
              | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-12)
out="$images_cache/$name-$inputs.tar"
# Reused: touched, so that another clone's build (other inputs) keeps it a while (below).
[ -f "$out" ] && { touch "$out"; echo "$out"; exit 0; }
IMAGES=1 bash "$repo/tools/node/deps.sh"
base=$(bash "$here/base.sh")
build_base=$(bash "$here/base.sh" build)
images_lock
trap images_unmount EXIT
started=$(date +%s)
uv_cache="${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/uv}"
mkdir -p "$uv_cache"
bud=(bah bud --isolation chroot --layers --pull-never -f "$file"
  --build-arg BASE="$build_base" --build-arg RUNTIME_BASE="$base" "${device[@]}"
  --build-arg UV_CACHE_DIR=/host-uv-cache -v "$uv_cache:/host-uv-cache" --build-arg UV_OFFLINE=1
  --build-arg SSL_CERT_FILE=/host-ca.crt --build-arg PIP_CERT=/host-ca.crt
  -v "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}:/host-ca.crt:ro")
# The build stage first, tagged :stage, so that pruning keeps its cached dependency layer
# (no tagged image descends from it); the whole build then finds it in the layer cache.
"${bud[@]}" --target build -t "localhost/agentcore-$name:stage" . >&2
"${bud[@]}" -t "localhost/agentcore-$name:build" . >&2
bah push --disable-compression "localhost/agentcore-$name:build" "oci-archive:$out.$$:0.1.0" >&2
mv "$out.$$" "$out"
# Other inputs' archives go once unused for an hour (a test of another clone may be importing one).
find "$images_cache" -maxdepth 1 -name "$name-????????????.tar" ! -name "$(basename "$out")" -mmin +60 -delete
# Bounded store: what no current build or base needs goes (older inputs' layers, old bases).
keep=("$base" "$build_base")
for n in trainer trainer-cpu operator; do keep+=("localhost/agentcore-$n:build" "localhost/agentcore-$n:stage"); done
before=$(du -sm "$images_cache/storage" | cut -f1)
mapfile -t doomed < <(python3 "$here/prune.py" "$images_cache/storage" "${keep[@]}")
[ ${#doomed[@]} = 0 ] || bah rmi "${doomed[@]}" >/dev/null || echo "prune: buildah rmi failed (kept)" >&2
echo "pruned ${#doomed[@]} images: store $before MB -> $(du -sm "$images_cache/storage" | cut -f1) MB" >&2
echo "built $name in $(( $(date +%s) - started )) s: $(du -h "$out" | cut -f1)" >&2
echo "$out"
