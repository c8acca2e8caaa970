#!/usr/bin/env bash
# Restart the kube-apiserver that up.sh started from STATE_DIR, with the same command line
# (same port, certificates and etcd), as an upgrade or a crash would: stop it (SIGTERM, or
# SIGKILL with KILL=1), start it again, wait until /readyz answers. etcd keeps the data.
#   usage: restart-apiserver.sh STATE_DIR      (for fault tests and the soak)
set -euo pipefail
state=$(cd "${1:?usage: restart-apiserver.sh STATE_DIR}" && pwd)
pidfile="$state/kube-apiserver.pid"
pid=$(cat "$pidfile")
mapfile -d '' argv < "/proc/$pid/cmdline"
[[ "${argv[0]}" == *kube-apiserver ]] || { echo "PID $pid is not a kube-apiserver" >&2; exit 1; }
if [ "${KILL:-0}" = 1 ]; then sig=KILL; else sig=TERM; fi
kill "-$sig" "$pid" 2>/dev/null || true
for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
kill -9 "$pid" 2>/dev/null || true
"${argv[@]}" >> "$state/kube-apiserver.log" 2>&1 &
echo $! > "$pidfile"
server=$(sed -n 's/.*server: "\(https[^"]*\)".*/\1/p' "$state/kubeconfig")
token=$(cut -d, -f1 "$state/pki/tokens.csv")
for i in $(seq 1 240); do
  curl -sf --cacert "$state/pki/ca.crt" -H "Authorization: Bearer $token" "$server/readyz" >/dev/null && exit 0
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$state/kube-apiserver.log" >&2; exit 1; }
  [ "$i" = 240 ] && { echo "kube-apiserver not ready in 60 s after the restart" >&2; exit 1; }
  sleep 0.25
done
