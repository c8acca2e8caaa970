#!/bin/sh
# Run under `unshare -m --propagation unchanged`: the kubelet's own mount namespace, where the
# kernel tunables it rewrites at start (kernel.panic, panic_on_oops, vm.overcommit_memory,
# vm.panic_on_oom) are writable stand-in files, so the host keeps its values.
#   usage: kubelet-ns.sh NODE_DIR KUBELET_BINARY ARGS...
set -eu
dir=$1; shift
for f in kernel/panic kernel/panic_on_oops vm/overcommit_memory vm/panic_on_oom; do
  copy="$dir/sysfs/$(echo "$f" | tr / _)"; cat "/proc/sys/$f" > "$copy"; mount --bind "$copy" "/proc/sys/$f"
done
# No iptables on PATH: the kubelet then makes no KUBE-* chains (the bridge plugin needs none).
exec env PATH=/usr/bin:/bin "$@"
