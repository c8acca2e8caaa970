#!/usr/bin/env bash
# Stop exactly what up.sh started from STATE_DIR (by its recorded PIDs), and nothing else.
#   usage: down.sh STATE_DIR
set -uo pipefail
state=${1:?usage: down.sh STATE_DIR}
[ -d "$state" ] || exit 0
for name in kube-controller-manager kube-apiserver etcd; do
  pidfile="$state/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  # A recorded PID may have been reused by an unrelated process: only stop ours.
  if { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q "$name"; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done
rm -rf "$state/etcd-data"
exit 0
