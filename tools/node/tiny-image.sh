#!/usr/bin/env bash
# Build a tiny image without any registry, once per input hash, as an OCI archive in the cache;
# print its path. Import with: ctr images import --base-name localhost/agentcore-NAME ARCHIVE
# (its tag is `latest`).
#   usage: tiny-image.sh pause      the sandbox image, from pause.c (gcc -static)
#          tiny-image.sh busybox    Debian's busybox-static, for tests of the node itself
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: tiny-image.sh pause|busybox}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/agentcore-training/node"
case $name in
  pause) inputs=("$here/pause.c") ;;
  busybox) inputs=(/bin/busybox) ;;
  *) echo "unknown image $name" >&2; exit 2 ;;
esac
key=$(sha256sum "${inputs[@]}" "$0" | sha256sum | cut -c1-12)
out="$cache/$name-$key.tar"
[ -f "$out" ] && { echo "$out"; exit 0; }
mkdir -p "$cache"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
umoci init --layout "$work/layout"
umoci new --image "$work/layout:latest"
umoci unpack --image "$work/layout:latest" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
case $name in
  pause)
    gcc -static -Os -o "$rootfs/pause" "$here/pause.c"
    entrypoint=/pause ;;
  busybox)
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
    install -m 0755 /bin/busybox "$rootfs/bin/busybox"
    chroot "$rootfs" /bin/busybox --install -s /bin
    entrypoint=/bin/sh ;;
esac
umoci repack --image "$work/layout:latest" "$work/bundle"
umoci config --image "$work/layout:latest" --config.entrypoint "$entrypoint" --config.user 65535:65535
tar -C "$work/layout" -cf "$out.$$" . && mv "$out.$$" "$out"
echo "$out"
