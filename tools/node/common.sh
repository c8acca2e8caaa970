# Shared by up.sh and down.sh: names derived from the cluster's state folder, so several nodes
# (one per test session or worktree) coexist on one host. Source with $state set.
# shellcheck shell=bash
node_dir="$state/node"
node_id=$(printf '%s' "$state" | sha256sum | cut -c1-8)
NODE_NAME=${NODE_NAME:-agentcore-$node_id}
bridge="acbr$node_id"                 # at most 15 characters
cgroup_root="/agentcore-$node_id"
registry=/run/agentcore-nodes         # one file per live node; the first one records the host
sock="$node_dir/containerd/containerd.sock"
ctr_k8s() { ctr -a "$sock" -n k8s.io "$@"; }
# Host paths containerd, CNI and the kubelet write outside their state folders whatever they are
# told. Made by the first node when absent and removed by the last one.
host_paths=(/run/containerd /run/netns /run/runc /var/lib/cni /var/lib/kubelet /var/log/containers)
# Host kernel settings a node may change (the bridge plugin turns on forwarding).
host_sysctls=(net.ipv4.ip_forward)
cgroup_controllers=(cpu cpuacct cpuset memory devices freezer blkio pids systemd unified)
# A PID file names our process only while that PID still runs our binary from our state.
our_pid() { # pidfile pattern -> prints the pid if alive and matching
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$2" || return 1
  echo "$pid"
}
# flock on a directory that always exists serialises node start/stop across worktrees.
host_lock() { exec 9</usr/lib/cni; flock 9; }
