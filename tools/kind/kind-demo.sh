#!/usr/bin/env bash
# The demo on kind: a namespace, 125 queries in a ConfigMap (100 to train on, 25 held out),
# the minimal sample TrainingJob (manifests/samples/trainingjob-minimal.yaml), and a wait
# until the real kubelet has run the trainer to Completed. Settings: CLUSTER (agentcore),
# NAMESPACE (agentcore-demo), TIMEOUT (600s).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${CLUSTER:-agentcore}
NAMESPACE=${NAMESPACE:-agentcore-demo}
TIMEOUT=${TIMEOUT:-600s}
kubectl config use-context "kind-$CLUSTER" >/dev/null

kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
queries=$(mktemp)
trap 'rm -f "$queries"' EXIT
for i in $(seq 0 124); do   # "a+b=" with its answer, as the integration tests use
  a=$((i % 10)); b=$((i / 10 % 10))
  printf '{"query": "%d+%d=", "expected_outcome": {"answer": "%d"}}\n' "$a" "$b" "$((a + b))"
done > "$queries"
kubectl -n "$NAMESPACE" create configmap support-bot-queries --from-file=queries.jsonl="$queries" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null

# A TrainingJob is never updated in place (its spec is immutable): a rerun is a new object.
kubectl -n "$NAMESPACE" delete trainingjob support-bot-minimal --ignore-not-found --wait=true
kubectl -n "$NAMESPACE" create -f manifests/samples/trainingjob-minimal.yaml
kubectl -n "$NAMESPACE" get trainingjob support-bot-minimal
if ! kubectl -n "$NAMESPACE" wait trainingjob/support-bot-minimal --for=condition=Completed --timeout="$TIMEOUT"; then
  kubectl -n "$NAMESPACE" describe trainingjob support-bot-minimal
  kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/component=trainer --tail=50 || true
  exit 1
fi
kubectl -n "$NAMESPACE" get trainingjob support-bot-minimal -o wide
