#!/usr/bin/env bash
# The local base image of both Containerfiles, from Debian's packages only (no registry):
# bookworm (Python 3.11, as in python:3.11-slim-bookworm and distroless/python3-debian12) with
# python3-pip and CA certificates, made by mmdebstrap and committed into buildah's store under
# the cache folder. Built once per input hash; prints the image name.
#   usage: base.sh [build]  (needs root; tools/node/deps.sh IMAGES=1 installs mmdebstrap, buildah)
# `build`: the build stages' base, with binutils too (the trainer-cpu image's CUDA stand-ins).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
packages=python3,python3-pip,python3-venv,ca-certificates
case ${1:-runtime} in
  runtime) name=agentcore-base ;;
  build) name=agentcore-build-base; packages=$packages,binutils ;;
  *) echo "usage: base.sh [build]" >&2; exit 2 ;;
esac
key=$(printf '%s %s' "$packages" "$(sha256sum "$0" | cut -c1-64)" | sha256sum | cut -c1-12)
image="localhost/$name:bookworm-$key"
if bah inspect --type image "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
images_lock
work=$(mktemp -d); trap 'rm -rf "$work"; images_unmount' EXIT
echo "building $image with mmdebstrap (first time only)" >&2
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar" >&2
container=$(bah from scratch)
bah add "$container" "$work/rootfs.tar" / >&2
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh "$container"
bah commit --rm "$container" "$image" >&2
echo "$image"
