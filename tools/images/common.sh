# Shared by the image scripts: buildah with its whole store in the cache folder (nothing in
# /var/lib/containers, nothing in /var/tmp), chroot isolation (no daemon, no user namespaces needed).
# shellcheck shell=bash
images_cache="${XDG_CACHE_HOME:-$HOME/.cache}/agentcore-training/images"
mkdir -p "$images_cache/tmp"
bah() {  # TMPDIR: buildah's temporary files and its RUN --mount=type=cache folders stay here too
  TMPDIR="$images_cache/tmp" buildah --root "$images_cache/storage" --runroot "$images_cache/run" --storage-driver overlay "$@"
}
# One build at a time on this host (they share the store), and no mounts left afterwards:
# working containers removed, the store's overlay mounts (buildah leaves them) unmounted.
images_lock() { exec 8>"$images_cache/.lock"; flock 8; }
images_unmount() {
  bah rm --all >/dev/null 2>&1 || true
  awk -v s="$images_cache/storage/" 'index($5 "/", s) == 1 {print $5}' /proc/self/mountinfo \
    | sort -ru | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
