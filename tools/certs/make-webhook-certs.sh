#!/usr/bin/env bash
# The operator's serving certificate without cert-manager: makes a CA and a certificate for
# the operator's Service with openssl, stores them in the Secret the operator mounts
# (tls.crt, tls.key, ca.crt), and patches the CA into the ValidatingWebhookConfiguration's
# caBundle. Run it after `kubectl apply -k manifests/overlays/<overlay>` (it needs the
# namespace and the webhook configuration), and again after every apply that replaced the
# webhook configuration with a client-side apply (server-side apply keeps the caBundle).
#
# Idempotent: an existing Secret is kept (its CA is what running trainers trust) and only
# the caBundle is patched again. ROTATE=1 makes a new CA and certificate; restart the
# operator afterwards (trainers started before the rotation can no longer report progress).
#
# Settings (environment): NAMESPACE (agentcore-system), SERVICE (agentcore-training-operator),
# SECRET (agentcore-training-operator-tls), WEBHOOK_CONFIGURATION
# (trainingjobs.training.agentcore.dev), DAYS (3650), KUBECTL (kubectl), ROTATE (0).
set -euo pipefail

NAMESPACE=${NAMESPACE:-agentcore-system}
SERVICE=${SERVICE:-agentcore-training-operator}
SECRET=${SECRET:-agentcore-training-operator-tls}
WEBHOOK_CONFIGURATION=${WEBHOOK_CONFIGURATION:-trainingjobs.training.agentcore.dev}
DAYS=${DAYS:-3650}
KUBECTL=${KUBECTL:-kubectl}
ROTATE=${ROTATE:-0}

command -v openssl >/dev/null || { echo "make-webhook-certs: openssl is needed" >&2; exit 1; }

if [ "$ROTATE" != 1 ] && "$KUBECTL" -n "$NAMESPACE" get secret "$SECRET" >/dev/null 2>&1; then
  echo "make-webhook-certs: keeping the existing secret $NAMESPACE/$SECRET (ROTATE=1 replaces it)"
  ca_b64=$("$KUBECTL" -n "$NAMESPACE" get secret "$SECRET" -o 'jsonpath={.data.ca\.crt}')
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  # The CA: ECDSA P-256, self-signed, may sign server certificates only.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.crt -days "$DAYS" -subj "/CN=agentcore-training-operator-ca" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  # The server certificate, for every name the apiserver and trainers may use.
  cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$SERVICE,DNS:$SERVICE.$NAMESPACE,DNS:$SERVICE.$NAMESPACE.svc,DNS:$SERVICE.$NAMESPACE.svc.cluster.local
EXT
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout tls.key -out server.csr -subj "/CN=$SERVICE.$NAMESPACE.svc" 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days "$DAYS" -sha256 -extfile server.ext -out tls.crt 2>/dev/null
  openssl verify -CAfile ca.crt tls.crt >/dev/null
  "$KUBECTL" -n "$NAMESPACE" create secret generic "$SECRET" --type=kubernetes.io/tls \
    --from-file=tls.crt --from-file=tls.key --from-file=ca.crt \
    --dry-run=client -o yaml |
    "$KUBECTL" apply --server-side --force-conflicts --field-manager=make-webhook-certs -f - >/dev/null
  echo "make-webhook-certs: wrote secret $NAMESPACE/$SECRET"
  ca_b64=$(base64 < ca.crt | tr -d '\n')
fi

[ -n "$ca_b64" ] || { echo "make-webhook-certs: $NAMESPACE/$SECRET has no ca.crt" >&2; exit 1; }
"$KUBECTL" patch validatingwebhookconfiguration "$WEBHOOK_CONFIGURATION" --type=json \
  -p "[{\"op\": \"add\", \"path\": \"/webhooks/0/clientConfig/caBundle\", \"value\": \"$ca_b64\"}]" >/dev/null
echo "make-webhook-certs: patched the caBundle of $WEBHOOK_CONFIGURATION"
