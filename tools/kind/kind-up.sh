#!/usr/bin/env bash
# A kind cluster for the demo (needs Docker and kind on the laptop).
# CERT_MANAGER=1 also installs cert-manager (downloads its release manifest: needs internet),
# for kind-deploy.sh CERTS=cert-manager; the default, CERTS=openssl, needs neither.
# Settings: CLUSTER (agentcore), CERT_MANAGER (0), CERT_MANAGER_VERSION (v1.16.2).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${CLUSTER:-agentcore}
CERT_MANAGER=${CERT_MANAGER:-0}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.16.2}

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "kind-up: cluster $CLUSTER exists"
else
  kind create cluster --name "$CLUSTER" --config tools/kind/kind-config.yaml --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

if [ "$CERT_MANAGER" = 1 ]; then
  kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
  kubectl -n cert-manager rollout status deploy/cert-manager deploy/cert-manager-cainjector \
    deploy/cert-manager-webhook --timeout=180s
fi
echo "kind-up: ready (kubectl context kind-$CLUSTER); next: tools/kind/kind-deploy.sh"
