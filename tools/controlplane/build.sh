#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, kubectl, kube-scheduler, kubelet, etcd, etcdctl,
# CoreDNS (coredns-$COREDNS_VERSION: the real node's cluster DNS) and Kueue (kueue-$KUEUE_VERSION,
# with its CRDs in kueue-$KUEUE_VERSION-crds/)
# from the Go module proxy, once per version, into the user's cache folder; print that folder.
# Only missing binaries are built: a folder from before kubelet/kube-scheduler gains just those.
# The wrapper modules (k8s/, etcd/, coredns/, kueue/) pin every module in go.mod/go.sum, so builds are reproducible.
# Cold build: ~12-15 min on 2 cores; warm (binaries present): instant.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
bin_dir=$(bash "$here/bin-dir.sh")
stamp="$bin_dir/.built"
k8s_commands=(kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet)
missing() { for c in "${k8s_commands[@]}" etcd etcdctl "coredns-$COREDNS_VERSION" "kueue-$KUEUE_VERSION"; do [ -x "$bin_dir/$c" ] || echo "$c"; done; }
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$K8S_VERSION $ETCD_VERSION" ] && [ -z "$(missing)" ]; then
  echo "$bin_dir"; exit 0
fi
mkdir -p "$bin_dir"
exec 9>"$bin_dir/.lock"; flock 9   # one build at a time per folder; the others then find it done
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$K8S_VERSION $ETCD_VERSION" ] && [ -z "$(missing)" ]; then
  echo "$bin_dir"; exit 0   # built by the holder of the lock meanwhile
fi
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
todo=$(missing)
echo "building $(echo $todo) of Kubernetes $K8S_VERSION / etcd $ETCD_VERSION into $bin_dir (~15 min cold, ~1.5 min for kubelet + kube-scheduler on a warm Go cache)" >&2
pkgs=()
for c in "${k8s_commands[@]}"; do grep -qx "$c" <<<"$todo" && pkgs+=("k8s.io/kubernetes/cmd/$c"); done
if [ ${#pkgs[@]} -gt 0 ]; then
  ( cd "$here/k8s" && go build -trimpath -ldflags="$ldflags" -o "$bin_dir/" "${pkgs[@]}" ) >&2
fi
if grep -qx 'etcd\|etcdctl' <<<"$todo"; then
  ( cd "$here/etcd" && go build -trimpath -ldflags="-s -w" -o "$bin_dir/etcd" go.etcd.io/etcd/server/v3 \
      && go build -trimpath -ldflags="-s -w" -o "$bin_dir/etcdctl" go.etcd.io/etcd/etcdctl/v3 ) >&2
fi
if grep -qx "coredns-$COREDNS_VERSION" <<<"$todo"; then
  # ~5 min cold (its plugins pull many modules), seconds on a warm Go cache.
  ( cd "$here/coredns" && go build -trimpath -ldflags="-s -w" -o "$bin_dir/coredns-$COREDNS_VERSION.$$" \
      github.com/coredns/coredns && mv "$bin_dir/coredns-$COREDNS_VERSION.$$" "$bin_dir/coredns-$COREDNS_VERSION" ) >&2
fi
if grep -qx "kueue-$KUEUE_VERSION" <<<"$todo"; then
  # ~4 min cold. Its CRDs come from the same module version, copied next to the binary.
  ( cd "$here/kueue" && go build -trimpath -ldflags="-s -w" -o "$bin_dir/kueue-$KUEUE_VERSION.$$" \
      sigs.k8s.io/kueue/cmd/kueue \
    && src=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kueue) \
    && rm -rf "$bin_dir/kueue-$KUEUE_VERSION-crds" && mkdir "$bin_dir/kueue-$KUEUE_VERSION-crds" \
    && cp "$src"/config/components/crd/bases/*.yaml "$bin_dir/kueue-$KUEUE_VERSION-crds/" \
    && chmod u+w "$bin_dir/kueue-$KUEUE_VERSION-crds"/*.yaml \
    && mv "$bin_dir/kueue-$KUEUE_VERSION.$$" "$bin_dir/kueue-$KUEUE_VERSION" ) >&2
fi
echo "$K8S_VERSION $ETCD_VERSION" > "$stamp"
echo "$bin_dir"
