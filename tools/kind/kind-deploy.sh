#!/usr/bin/env bash
# Builds the operator and trainer images, puts them into the kind cluster's nodes, and deploys
# manifests/overlays/dev (the same manifests tests/integration/test_manifests.py checks and
# tests/integration/test_incluster.py runs on a real node).
# Images: by default the same build as the tests (tools/images/build.sh: buildah from the
# project's Containerfiles, cached by their inputs; needs root and Debian's buildah), imported
# into each node's containerd under the names the manifests use, as test_incluster.py imports
# them into its node. BUILDER=docker builds the same Containerfiles with `docker build` and
# `kind load`s them instead (a laptop without buildah, macOS).
# CERTS=openssl (default): tools/certs/make-webhook-certs.sh makes the operator's certificate.
# CERTS=cert-manager: manifests/overlays/dev-cert-manager (kind-up.sh CERT_MANAGER=1 first).
# Settings: CLUSTER (agentcore), CERTS (openssl), BUILDER (buildah|docker), TRAINER (trainer-cpu:
# the CPU flavour of the trainer image; trainer: the CUDA one, several GB), BUILD (1; 0 reuses
# images already on the nodes).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${CLUSTER:-agentcore}
CERTS=${CERTS:-openssl}
BUILDER=${BUILDER:-buildah}
TRAINER=${TRAINER:-trainer-cpu}
BUILD=${BUILD:-1}
OPERATOR_REPOSITORY=ghcr.io/agentcore/operator           # manifests/overlays/dev: tag dev
TRAINER_REPOSITORY=ghcr.io/agentcore/grpo-trainer        # the CRD's default spec.runtime.image: tag 0.1.0
kubectl config use-context "kind-$CLUSTER" >/dev/null

# An archive of tools/images/build.sh (one image tagged 0.1.0) into every node as REPOSITORY:0.1.0
# and REPOSITORY:TAG.
import_archive() {  # archive repository tag
  local node
  for node in $(kind get nodes --name "$CLUSTER"); do
    docker cp "$1" "$node:/tmp/agentcore-image.tar"
    docker exec "$node" ctr -n k8s.io images import --base-name "$2" /tmp/agentcore-image.tar >/dev/null
    docker exec "$node" ctr -n k8s.io images tag --force "$2:0.1.0" "$2:$3" >/dev/null
    docker exec "$node" rm -f /tmp/agentcore-image.tar
  done
}

if [ "$BUILD" = 1 ]; then
  case "$BUILDER" in
    buildah)
      import_archive "$(bash tools/images/build.sh operator)" "$OPERATOR_REPOSITORY" dev
      import_archive "$(bash tools/images/build.sh "$TRAINER")" "$TRAINER_REPOSITORY" 0.1.0
      ;;
    docker)
      device=(); [ "$TRAINER" = trainer-cpu ] && device=(--build-arg TORCH_DEVICE=cpu)
      docker build -f Dockerfile.operator -t "$OPERATOR_REPOSITORY:dev" .
      docker build ${device[@]+"${device[@]}"} -t "$TRAINER_REPOSITORY:0.1.0" .
      kind load docker-image --name "$CLUSTER" "$OPERATOR_REPOSITORY:dev" "$TRAINER_REPOSITORY:0.1.0"
      ;;
    *) echo "kind-deploy: BUILDER must be buildah or docker" >&2; exit 2 ;;
  esac
fi

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
