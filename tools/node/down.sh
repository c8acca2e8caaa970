#!/usr/bin/env bash
# Stop the node that up.sh started from STATE_DIR (by its recorded PIDs) and undo its host side
# effects: pods, containers, mounts, the bridge, cgroups; the last node on the host also puts back
# the kernel settings and removes the host folders the first one made. Safe to run again, or after
# a crash, or when nothing runs.
#   usage: down.sh STATE_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -d "${1:?usage: down.sh STATE_DIR}" ] || exit 0
state=$(cd "$1" && pwd -P)
# shellcheck source=common.sh
. "$here/common.sh"
[ -d "$node_dir" ] || exit 0
bin=$(bash "$here/../controlplane/bin-dir.sh")
kubectl() { KUBECONFIG="$state/kubeconfig" KUBECACHEDIR="$node_dir/kubecache" "$bin/kubectl" "$@"; }

stop() { # pidfile pattern: SIGTERM, up to 10 s, then SIGKILL
  local pid
  if pid=$(our_pid "$1" "$2"); then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$1"
}
containerd_up() { our_pid "$node_dir/containerd.pid" "containerd --config $node_dir/" >/dev/null; }

# 1. The kubelet stops the pods itself (CNI DEL, unmounts) while the apiserver still answers.
if our_pid "$node_dir/kubelet.pid" "--config=$node_dir/kubelet/config.yaml" >/dev/null && kubectl get --raw /readyz >/dev/null 2>&1; then
  kubectl delete pods --all -A --grace-period=1 --wait=false >/dev/null 2>&1
  for _ in $(seq 1 60); do
    [ "$(ctr_k8s tasks ls -q 2>/dev/null | wc -l)" = 0 ] && break; sleep 0.5
  done
fi
# 2. Node daemons, then what the kubelet could not stop, through containerd.
stop "$node_dir/kubelet.pid" "--config=$node_dir/kubelet/config.yaml"
stop "$node_dir/kube-scheduler.pid" "kube-scheduler --kubeconfig=$state/kubeconfig"
stop "$node_dir/coredns.pid" "-conf $node_dir/coredns/Corefile"
if containerd_up; then
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$id" >/dev/null 2>&1; done
  sleep 0.5
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks rm -f "$id" >/dev/null 2>&1; done
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers rm "$id" >/dev/null 2>&1; done
fi
stop "$node_dir/containerd.pid" "containerd --config $node_dir/"
# Shims of our containerd (matched by its exact socket) that outlived it, and their containers.
for p in /proc/[0-9]*; do
  if { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim-runc-v2 .*-address $sock "; then
    kill -9 "${p#/proc/}" 2>/dev/null
  fi
done
for c in "${cgroup_controllers[@]}"; do  # anything still in our cgroups is ours
  [ -d "/sys/fs/cgroup/$c$cgroup_root" ] || continue
  find "/sys/fs/cgroup/$c$cgroup_root" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
done
# 3. Mounts under our state folder, deepest first (netns files, overlay snapshots, volumes, the bind).
for _ in 1 2 3; do
  mounts=$(awk -v s="$node_dir/" 'index($5, s) == 1 || $5 == substr(s, 1, length(s) - 1) {print $5}' /proc/self/mountinfo | sort -ru)
  [ -z "$mounts" ] && break
  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done
# 4. The bridge, our cgroups.
ip link del "$bridge" 2>/dev/null
for c in "${cgroup_controllers[@]}"; do
  d="/sys/fs/cgroup/$c$cgroup_root"
  for _ in 1 2 3 4 5; do [ -d "$d" ] || break; find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; [ -d "$d" ] && sleep 0.2; done
done
# 5. Leave the host as the first node found it, once the last node is gone.
host_lock
rm -f "$registry/$node_id"
for f in "$registry"/*; do  # a node whose containerd is gone (crashed, folder deleted) does not count
  [ -f "$f" ] || continue
  other=$(cat "$f")
  our_pid "$other/node/containerd.pid" "containerd --config $other/node/" >/dev/null || rm -f "$f"
done
if [ -d "$registry" ] && [ -z "$(ls "$registry")" ]; then
  while read -r kind name value; do
    case $kind in
      sysctl) sysctl -qw "$name=$value" ;;
      absent) rm -rf "$name" ;;
    esac
  done < "$registry/.host-before"
  rm -rf "$registry"
fi
flock -u 9; exec 9<&-
# 6. Large state (image snapshots, pod volumes): nothing mounts it any more.
rm -rf "$node_dir"/containerd/{root,state,runc} "$node_dir"/kubelet/{root,pod-logs} "$node_dir"/cni/ipam
rm -f "$node_dir/env"
exit 0
