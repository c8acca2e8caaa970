#!/usr/bin/env bash
# Start a real node on the loopback control plane that tools/controlplane/up.sh started from
# STATE_DIR: containerd (Debian's, with runc and the CNI bridge plugin), kube-scheduler, CoreDNS
# (the cluster DNS, on the bridge address) and a kubelet. All state goes under STATE_DIR/node; PIDs are recorded there; down.sh undoes it all.
#   usage: up.sh STATE_DIR        stop with: down.sh STATE_DIR
# Writes STATE_DIR/node/env: NODE_NAME, NODE_HOST_IP (the bridge's host address, which pods
# reach: listen there for traffic from pods), CONTAINERD_ADDRESS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=$(cd "${1:?usage: up.sh STATE_DIR}" && pwd -P)
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=../controlplane/versions.env
. "$here/../controlplane/versions.env"
[ -f "$state/kubeconfig" ] || { echo "no control plane in $state (tools/controlplane/up.sh first)" >&2; exit 1; }
if our_pid "$node_dir/kubelet.pid" "--config=$node_dir/kubelet/config.yaml" >/dev/null; then
  echo "a node already runs from $state (stop it with down.sh $state)" >&2; exit 1
fi
bash "$here/deps.sh"
bin=$(bash "$here/../controlplane/build.sh")
pause_tar=$(bash "$here/tiny-image.sh" pause)
t0=$(date +%s%N)
mkdir -p "$node_dir"/{containerd,cni/net.d,kubelet/pki,kubelet/root,logs,sysfs}
kubeconfig="$state/kubeconfig"
kubectl() { KUBECONFIG="$kubeconfig" KUBECACHEDIR="$node_dir/kubecache" "$bin/kubectl" "$@"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- host side, serialised with other nodes: register, record the host once, pick a subnet, bridge
host_lock
if [ ! -d "$registry" ]; then
  mkdir -p "$registry"
  { for k in "${host_sysctls[@]}"; do echo "sysctl $k $(sysctl -n "$k")"; done
    for p in "${host_paths[@]}"; do [ -e "$p" ] || echo "absent $p"; done
  } > "$registry/.host-before"
fi
echo "$state" > "$registry/$node_id"
for p in "${host_paths[@]}"; do mkdir -p "$p"; done
if ! ip link show "$bridge" >/dev/null 2>&1; then
  octet=$(( 16#${node_id:0:4} % 200 + 20 ))
  while ip route | grep -q "^10\.88\.$octet\."; do octet=$(( (octet - 19) % 200 + 20 )); done
  ip link add "$bridge" type bridge
  ip addr add "10.88.$octet.1/24" dev "$bridge"
  ip link set "$bridge" up
fi
flock -u 9; exec 9<&-
host_ip=$(ip -4 -o addr show dev "$bridge" | awk '{print $4}' | cut -d/ -f1)
subnet="${host_ip%.*}.0/24"
for c in "${cgroup_controllers[@]}"; do mkdir -p "/sys/fs/cgroup/$c$cgroup_root"; done
cp /sys/fs/cgroup/cpuset/cpuset.cpus "/sys/fs/cgroup/cpuset$cgroup_root/cpuset.cpus"
cp /sys/fs/cgroup/cpuset/cpuset.mems "/sys/fs/cgroup/cpuset$cgroup_root/cpuset.mems"

# --- containerd with the CRI plugin; its state under node/containerd (shim sockets: /run/containerd/s)
cd_dir="$node_dir/containerd"
cat > "$cd_dir/config.toml" <<TOML
version = 2
root = "$cd_dir/root"
state = "$cd_dir/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$cd_dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/agentcore-pause:latest"
  disable_apparmor = true
  restrict_oom_score_adj = true    # no CAP_SYS_RESOURCE on these machines
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$cd_dir/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node_dir/cni/net.d"
TOML
cat > "$node_dir/cni/net.d/10-agentcore.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "agentcore-$node_id", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$node_dir/cni/ipam",
            "ranges": [[{"subnet": "$subnet", "gateway": "$host_ip"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
JSON
containerd --config "$cd_dir/config.toml" > "$node_dir/logs/containerd.log" 2>&1 < /dev/null &
echo $! > "$node_dir/containerd.pid"
for i in $(seq 1 200); do
  ctr_k8s version >/dev/null 2>&1 && break
  our_pid "$node_dir/containerd.pid" containerd >/dev/null || { tail -20 "$node_dir/logs/containerd.log" >&2; exit 1; }
  [ "$i" = 200 ] && { echo "containerd did not answer in 20 s" >&2; exit 1; }; sleep 0.1
done
ctr_k8s images import --base-name localhost/agentcore-pause "$pause_tar" >/dev/null

# --- node identity: a client certificate system:node:<name> from the control plane's CA; RBAC
# grants system:node to the group (the loopback apiserver has no Node authorizer).
pki="$node_dir/kubelet/pki"
if [ ! -f "$pki/node.crt" ]; then
  ( cd "$pki"
    openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr -subj "/O=system:nodes/CN=system:node:$NODE_NAME"
    printf 'extendedKeyUsage=clientAuth\n' > ext.cnf
    openssl x509 -req -in node.csr -CA "$state/pki/ca.crt" -CAkey "$state/pki/ca.key" -CAcreateserial \
      -out node.crt -days 7 -extfile ext.cnf
    chmod 600 node.key ) >/dev/null 2>&1
fi
server=$(sed -n 's/.*server: "\([^"]*\)".*/\1/p' "$kubeconfig")
cat > "$node_dir/kubelet/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$state/pki/ca.crt"}}]
users: [{name: node, user: {client-certificate: "$pki/node.crt", client-key: "$pki/node.key"}}]
contexts: [{name: local, context: {cluster: local, user: node}}]
current-context: local
KC
kubectl create clusterrolebinding agentcore-system-nodes --clusterrole=system:node --group=system:nodes \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null

# --- kube-scheduler
"$bin/kube-scheduler" --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
  --authorization-kubeconfig="$kubeconfig" --bind-address=127.0.0.1 --secure-port="$(freeport)" \
  --leader-elect=false > "$node_dir/logs/kube-scheduler.log" 2>&1 < /dev/null &
echo $! > "$node_dir/kube-scheduler.pid"

# --- CoreDNS, the cluster DNS: pods resolve Services and the stable hostnames of Indexed Job pods
# under a headless Service (torchrun's rendezvous across pods). It listens on the bridge address,
# which pods reach; other names go to the host's resolver. It reads Services and EndpointSlices
# with the control plane's admin kubeconfig (a test node's daemon, like kube-scheduler here).
mkdir -p "$node_dir/coredns"
dns_ready=$(freeport)
cat > "$node_dir/coredns/Corefile" <<CORE
cluster.local:53 {
  bind $host_ip
  kubernetes cluster.local {
    kubeconfig $kubeconfig
    pods insecure
    ttl 5
  }
  ready 127.0.0.1:$dns_ready
  errors
}
.:53 {
  bind $host_ip
  forward . /etc/resolv.conf
  cache 30
  errors
}
CORE
"$bin/coredns-$COREDNS_VERSION" -conf "$node_dir/coredns/Corefile" \
  > "$node_dir/logs/coredns.log" 2>&1 < /dev/null &
echo $! > "$node_dir/coredns.pid"

# --- kubelet: listens on the bridge address (the apiserver reaches it there for logs and exec),
# accepts only clients with a certificate from the control plane's CA (the apiserver's).
cat > "$node_dir/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $host_ip
port: $(freeport)
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(freeport)
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "$state/pki/ca.crt"}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$sock
cgroupDriver: cgroupfs
cgroupRoot: $cgroup_root
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
podLogsDir: $node_dir/kubelet/pod-logs
resolvConf: /etc/resolv.conf
clusterDNS: ["$host_ip"]
clusterDomain: cluster.local
rotateCertificates: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"}
maxPods: 30
YAML
root="$node_dir/kubelet/root"
# An rshared bind: the volumes the kubelet mounts in its own mount namespace reach containerd.
grep -q " $root .*shared:" /proc/self/mountinfo || { mount --bind "$root" "$root"; mount --make-rshared "$root"; }
unshare -m --propagation unchanged "$here/kubelet-ns.sh" "$node_dir" "$bin/kubelet" \
  --config="$node_dir/kubelet/config.yaml" --kubeconfig="$node_dir/kubelet/kubeconfig" \
  --root-dir="$root" --cert-dir="$pki/serving" --hostname-override="$NODE_NAME" \
  --node-ip="$host_ip" --node-labels="agentcore.dev/node-id=$node_id" --v=2 \
  > "$node_dir/logs/kubelet.log" 2>&1 < /dev/null &
echo $! > "$node_dir/kubelet.pid"
for i in $(seq 1 300); do  # ready once the kubernetes plugin has synced Services and endpoints
  our_pid "$node_dir/coredns.pid" "-conf $node_dir/coredns/Corefile" >/dev/null || { tail -30 "$node_dir/logs/coredns.log" >&2; exit 1; }
  curl -fsS "http://127.0.0.1:$dns_ready/ready" >/dev/null 2>&1 && break
  [ "$i" = 300 ] && { echo "CoreDNS not ready in 30 s; see $node_dir/logs/coredns.log" >&2; exit 1; }
  sleep 0.1
done
printf 'NODE_NAME=%s\nNODE_HOST_IP=%s\nCONTAINERD_ADDRESS=%s\n' "$NODE_NAME" "$host_ip" "$sock" > "$node_dir/env"
for i in $(seq 1 600); do
  our_pid "$node_dir/kubelet.pid" "--config=$node_dir/kubelet/config.yaml" >/dev/null || { tail -30 "$node_dir/logs/kubelet.log" >&2; exit 1; }
  [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] && break
  [ "$i" = 600 ] && { echo "node $NODE_NAME not Ready in 60 s; see $node_dir/logs/kubelet.log" >&2; exit 1; }
  sleep 0.1
done
echo "node $NODE_NAME Ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms (pods reach the host at $host_ip; env in $node_dir/env)"
