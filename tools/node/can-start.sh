#!/usr/bin/env bash
# Can a real node (up.sh) start on this machine? Exit 0 if so; otherwise print why and exit 1.
# Used by the tests (tests/support/node.py) and `make demo` (tools/demo_node.py).
#   usage: can-start.sh
set -uo pipefail
why() { echo "$1"; exit 1; }
[ "$(id -u)" = 0 ] || why "a node needs root (namespaces, mounts, cgroups)"
[ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu ] || why "no writable cgroup v1 hierarchy at /sys/fs/cgroup"
command -v unshare >/dev/null || why "no unshare(1)"
if { [ ! -e /usr/bin/containerd ] || [ ! -e /usr/sbin/runc ]; } && ! command -v apt-get >/dev/null; then
  why "missing containerd or runc and no apt-get to install them"
fi
exit 0
