#!/usr/bin/env bash
# Start a throwaway control plane on free loopback ports: etcd + kube-apiserver, and
# kube-controller-manager unless WITH_KCM=0 (Jobs -> Pods, garbage collection, namespaces).
# No kubelet and no scheduler: Pods stay Pending unless the dev runner runs them, or a node
# started by tools/node/up.sh STATE_DIR runs them.
#   usage: up.sh STATE_DIR      stop with: down.sh STATE_DIR
# Writes STATE_DIR/kubeconfig and STATE_DIR/env; records the PIDs it started in STATE_DIR/*.pid.
# CRD_DIR, when set, is applied before kube-controller-manager starts (its garbage collector
# only watches the kinds it discovered at start).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(bash "$here/build.sh")
mkdir -p "$1"; state=$(cd "$1" && pwd); pki="$state/pki"; mkdir -p "$pki"
if [ -f "$state/kube-apiserver.pid" ] && kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null; then
  echo "a control plane already runs from $state (stop it with down.sh $state)" >&2; exit 1
fi
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
etcd_port=$(freeport); peer_port=$(freeport); api_port=$(freeport); kcm_port=$(freeport)

if [ ! -f "$pki/ca.crt" ]; then   # throwaway certificates, valid for a week
  ( cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 -subj /CN=agentcore-test-ca
    # Also the in-cluster names and the first service IP, as a real cluster's apiserver has: pods
    # on a node (tools/node/) reach it as kubernetes.default.svc through tests/support/relay.py.
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' > san.cnf
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=127.0.0.1
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 7 -extfile san.cnf
    openssl genrsa -out sa.key 2048 && openssl rsa -in sa.key -pubout -out sa.pub
    printf '%s,test-admin,1000,system:masters\n' "$(openssl rand -hex 24)" > tokens.csv
    chmod 600 ./*.key tokens.csv ) >/dev/null 2>&1
fi
if [ ! -f "$pki/kubelet-client.crt" ]; then   # the apiserver's client certificate for kubelets (logs, exec)
  ( cd "$pki"
    openssl req -newkey rsa:2048 -nodes -keyout kubelet-client.key -out kubelet-client.csr \
      -subj "/O=system:masters/CN=kube-apiserver-kubelet-client"
    printf 'extendedKeyUsage=clientAuth\n' > client.cnf
    openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out kubelet-client.crt -days 7 -extfile client.cnf
    chmod 600 kubelet-client.key ) >/dev/null 2>&1
fi
admin_token=$(cut -d, -f1 "$pki/tokens.csv")

rm -rf "$state/etcd-data"
"$bin/etcd" --name agentcore --data-dir "$state/etcd-data" --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "agentcore=http://127.0.0.1:$peer_port" --listen-metrics-urls "" \
  > "$state/etcd.log" 2>&1 &
echo $! > "$state/etcd.pid"

# --enable-aggregator-routing: there is no kube-proxy, so a webhook named by its Service is called
# at the Service's endpoints (pod IPs on a node of tools/node/), not at its ClusterIP.
"$bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
  --service-account-issuer="https://127.0.0.1:$api_port" --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" --service-cluster-ip-range=10.0.0.0/24 \
  --authorization-mode=RBAC --disable-admission-plugins=ServiceAccount --allow-privileged=false \
  --kubelet-client-certificate="$pki/kubelet-client.crt" --kubelet-client-key="$pki/kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP \
  --enable-aggregator-routing=true \
  --cert-dir="$state/kube-apiserver-certs" > "$state/kube-apiserver.log" 2>&1 &
echo $! > "$state/kube-apiserver.pid"

cat > "$state/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: agentcore-local
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/ca.crt"}
users:
- name: test-admin
  user: {token: "$admin_token"}
contexts:
- name: agentcore-local
  context: {cluster: agentcore-local, user: test-admin, namespace: default}
current-context: agentcore-local
KUBECONFIG
chmod 600 "$state/kubeconfig"
printf 'export KUBECONFIG=%s\nexport PATH=%s:$PATH\n' "$state/kubeconfig" "$bin" > "$state/env"

for i in $(seq 1 240); do
  curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token" \
    "https://127.0.0.1:$api_port/readyz" >/dev/null && break
  kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null || { tail -20 "$state/kube-apiserver.log" >&2; exit 1; }
  [ "$i" = 240 ] && { echo "kube-apiserver not ready in 60 s; see $state/kube-apiserver.log" >&2; exit 1; }
  sleep 0.25
done

if [ -n "${CRD_DIR:-}" ]; then
  KUBECONFIG="$state/kubeconfig" "$bin/kubectl" apply -f "$CRD_DIR" >/dev/null
  # kubectl wait fails at once ("accessor error: <nil>") on a CRD whose status has no
  # conditions yet, rather than waiting for them: retry it (CI saw this once in ~20 runs).
  for i in $(seq 1 60); do
    KUBECONFIG="$state/kubeconfig" "$bin/kubectl" wait --for=condition=Established crd --all \
      --timeout=60s >/dev/null 2>"$state/crd-wait.err" && break
    [ "$i" = 60 ] && { cat "$state/crd-wait.err" >&2; exit 1; }
    sleep 1
  done
fi

if [ "${WITH_KCM:-1}" = 1 ]; then
  "$bin/kube-controller-manager" --kubeconfig="$state/kubeconfig" \
    --authentication-kubeconfig="$state/kubeconfig" --authorization-kubeconfig="$state/kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=false --cert-dir="$state/kcm-certs" \
    > "$state/kube-controller-manager.log" 2>&1 &
  echo $! > "$state/kube-controller-manager.pid"
fi
echo "control plane $("$bin/kube-apiserver" --version) up at https://127.0.0.1:$api_port"
echo "use it with:  source $state/env   (sets KUBECONFIG and puts kubectl on PATH)"
