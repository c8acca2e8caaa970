"""The ValidatingWebhookConfiguration that points the apiserver at the webhook (pure)."""

from __future__ import annotations

import base64
from typing import Any

from agentcore_training.api.resource import GROUP, PLURAL, VERSION

WEBHOOK_PATH = "/validate-trainingjob"


def build_webhook_configuration(
    name: str,
    ca_pem: str,
    *,
    url: str | None = None,
    service: tuple[str, str, int] | None = None,
) -> dict[str, Any]:
    """`url:` for a control plane outside the cluster, `service: (namespace, name, port)` in it.

    Only CREATE is judged: the spec is immutable after that (a CEL rule), so the operator's
    own status patches and users' cancel/suspend changes never reach this webhook.
    """
    if (url is None) == (service is None):
        raise ValueError("give exactly one of url or service")
    client_config: dict[str, Any] = {"caBundle": base64.b64encode(ca_pem.encode()).decode()}
    if url is not None:
        client_config["url"] = url.rstrip("/") + WEBHOOK_PATH
    else:
        assert service is not None
        namespace, service_name, port = service
        client_config["service"] = {
            "namespace": namespace,
            "name": service_name,
            "port": port,
            "path": WEBHOOK_PATH,
        }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "agentcore-training"},
        },
        "webhooks": [
            {
                "name": f"validate.{GROUP}",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "timeoutSeconds": 10,
                "clientConfig": client_config,
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "operations": ["CREATE"],
                        "resources": [PLURAL],
                        "scope": "Namespaced",
                    }
                ],
            }
        ],
    }
