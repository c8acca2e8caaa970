#!/usr/bin/env bash
# Builds the operator and trainer images, loads them into the kind cluster, and deploys
# manifests/overlays/dev (the same manifests tests/integration/test_manifests.py checks).
# CERTS=openssl (default): tools/certs/make-webhook-certs.sh makes the operator's certificate.
# CERTS=cert-manager: manifests/overlays/dev-cert-manager (kind-up.sh CERT_MANAGER=1 first).
# Settings: CLUSTER (agentcore), CERTS (openssl), BUILD (1; 0 skips docker build).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${CLUSTER:-agentcore}
CERTS=${CERTS:-openssl}
BUILD=${BUILD:-1}
OPERATOR_IMAGE=ghcr.io/agentcore/operator:dev            # manifests/overlays/dev sets this tag
TRAINER_IMAGE=ghcr.io/agentcore/grpo-trainer:0.1.0       # the CRD's default spec.runtime.image
kubectl config use-context "kind-$CLUSTER" >/dev/null

if [ "$BUILD" = 1 ]; then
  docker build -f Dockerfile.operator -t "$OPERATOR_IMAGE" .
  docker build -t "$TRAINER_IMAGE" .
fi
kind load docker-image --name "$CLUSTER" "$OPERATOR_IMAGE" "$TRAINER_IMAGE"

case "$CERTS" in
  openssl)
    kubectl apply --server-side -k manifests/overlays/dev
    bash tools/certs/make-webhook-certs.sh
    ;;
  cert-manager)
    kubectl apply --server-side -k manifests/overlays/dev-cert-manager
    kubectl -n agentcore-system wait --for=condition=Ready certificate/agentcore-training-operator --timeout=120s
    ;;
  *) echo "kind-deploy: CERTS must be openssl or cert-manager" >&2; exit 2 ;;
esac

# A new image under the same tag: restart so the pods run what was just loaded.
kubectl -n agentcore-system rollout restart deploy/agentcore-training-operator deploy/agentcore-rpc
kubectl -n agentcore-system rollout status deploy/agentcore-training-operator --timeout=180s
kubectl -n agentcore-system rollout status deploy/agentcore-rpc --timeout=180s
echo "kind-deploy: deployed; next: tools/kind/kind-demo.sh"
