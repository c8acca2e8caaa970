# Shared by the image scripts: buildah with its whole store in the cache folder (nothing in
# /var/lib/containers, nothing in /var/tmp), chroot isolation (no daemon, no user namespaces needed).
# shellcheck shell=bash
images_cache="${XDG_CACHE_HOME:-$HOME/.cache}/agentcore-training/images"
mkdir -p "$images_cache/tmp"
bah() {  # TMPDIR: buildah's temporary files and its RUN --mount=type=cache folders stay here too
  TMPDIR="$images_cache/tmp" buildah --root "$images_cache/storage" --runroot "$images_cache/run" --storage-driver overlay "$@"
}
