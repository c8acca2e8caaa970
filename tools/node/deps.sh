#!/usr/bin/env bash
# Install the Debian packages a real node needs (containerd, runc, CNI plugins, busybox, umoci),
# only when one is missing. Needs root (apt-get); prints nothing when all are present.
#   usage: deps.sh        (IMAGES=1 also installs what tools/images/ needs: mmdebstrap, buildah)
set -euo pipefail
declare -A need=(
  [containerd]=/usr/bin/containerd [runc]=/usr/sbin/runc
  [containernetworking-plugins]=/usr/lib/cni/bridge [busybox-static]=/bin/busybox
  [umoci]=/usr/bin/umoci
)
if [ "${IMAGES:-0}" = 1 ]; then need[mmdebstrap]=/usr/bin/mmdebstrap; need[buildah]=/usr/bin/buildah; fi
missing=()
for pkg in "${!need[@]}"; do [ -e "${need[$pkg]}" ] || missing+=("$pkg"); done
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "a real node needs the Debian packages: ${missing[*]} (root and apt-get)" >&2; exit 1
fi
echo "installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
