"""The operator's and the shim's own identities in the tests: their ServiceAccounts and
roles rendered from the deploy's manifests (`kubectl kustomize manifests/base`, not
copies), and kubeconfigs holding TokenRequest tokens of those ServiceAccounts.

So the operator and the shim run with exactly the permissions a deployment grants them,
not as admin: a permission missing from manifests/ fails a test. The admin kubeconfig
stays for the tests' own setup and assertions (and the dev runner, a kubelet stand-in).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.cluster import REPO, Cluster

BASE = REPO / "manifests" / "base"
IDENTITY_KINDS = frozenset(
    {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
)
TOKEN_DURATION = "2h"  # longer than any test module


@dataclass(frozen=True)
class Identity:
    namespace: str
    service_account: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


OPERATOR = Identity("agentcore-system", "agentcore-training-operator")
SHIM = Identity("agentcore-system", "agentcore-rpc")


def apply_identities(cluster: Cluster) -> None:
    """Namespace, ServiceAccounts and RBAC of the deploy's base, applied (idempotent)."""
    rendered = cluster.kubectl("kustomize", str(BASE)).stdout
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=agentcore-identities-test",
        "-f",
        "-",
        stdin=_only_identities(rendered),
    )


def _only_identities(rendered: str) -> str:
    objects = [o for o in yaml.safe_load_all(rendered) if o and o["kind"] in IDENTITY_KINDS]
    return "\n---\n".join(json.dumps(o) for o in objects)


def kubeconfig_for(
    cluster: Cluster, identity: Identity, *, can: tuple[str, str, str] | None = None
) -> Path:
    """A kubeconfig of the cluster with a fresh token of `identity` (TokenRequest, through
    `kubectl create token`), once RBAC lets it do `can` (verb, resource, namespace flag)."""
    apply_identities(cluster)
    if can is not None:
        _wait_until_allowed(cluster, identity, *can)
    token = cluster.kubectl(
        "create",
        "token",
        identity.service_account,
        "-n",
        identity.namespace,
        "--duration",
        TOKEN_DURATION,
    ).stdout.strip()
    admin = json.loads(cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": identity.service_account, "user": {"token": token}}],
        "contexts": [
            {
                "name": identity.service_account,
                "context": {
                    "cluster": admin["clusters"][0]["name"],
                    "user": identity.service_account,
                    "namespace": "default",
                },
            }
        ],
        "current-context": identity.service_account,
    }
    path = Path(tempfile.mkdtemp(prefix=f"kubeconfig-{identity.service_account}-")) / "config"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


def _wait_until_allowed(
    cluster: Cluster, identity: Identity, verb: str, resource: str, *scope: str
) -> None:
    """RBAC takes a moment to see a new binding."""
    deadline = time.monotonic() + 30
    while True:
        answer = cluster.kubectl(
            "auth", "can-i", verb, resource, *scope, f"--as={identity.user}", check=False
        ).stdout.strip()
        if answer == "yes":
            return
        assert time.monotonic() < deadline, f"{identity.user} may still not {verb} {resource}"
        time.sleep(0.2)
