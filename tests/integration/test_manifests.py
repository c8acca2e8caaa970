"""The deployment manifests (manifests/), checked by a real kubectl (kustomize built in) and a
real kube-apiserver: server-side dry runs of the overlays, the restricted Pod Security
Standard, the operator's least-privilege RBAC (kubectl auth can-i as its ServiceAccount), the
static webhook configuration against the operator's own, the cert-manager overlay, and the
openssl alternative (tools/certs/make-webhook-certs.sh).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from agentcore_training.webhook.configuration import build_webhook_configuration
from tests.support.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
OVERLAYS = MANIFESTS / "overlays"
CERTS_SCRIPT = REPO / "tools" / "certs" / "make-webhook-certs.sh"
NAMESPACE = "agentcore-system"
OPERATOR = "agentcore-training-operator"
OPERATOR_SA = f"system:serviceaccount:{NAMESPACE}:{OPERATOR}"
RPC_SA = f"system:serviceaccount:{NAMESPACE}:agentcore-rpc"
DRY_RUN = ("apply", "--server-side", "--dry-run=server", "--force-conflicts")
FIELD_MANAGER = "--field-manager=agentcore-manifests-test"


def render_documents(cluster: Cluster, path: Path) -> list[tuple[dict[str, Any], str]]:
    """`kubectl kustomize PATH`: each object, parsed and as the YAML text kustomize wrote.

    Send the text back to the apiserver, not a re-serialisation of the parsed object: PyYAML
    reads YAML 1.1, where the CRD's `default: 1e-06` is a string, not a number."""
    out = cluster.kubectl("kustomize", str(path)).stdout
    texts = [text for text in out.split("\n---\n") if text.strip()]
    return [(yaml.safe_load(text), text) for text in texts]


def render(cluster: Cluster, path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize PATH`, as objects."""
    return [obj for obj, _ in render_documents(cluster, path)]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def system_namespace(cluster: Cluster) -> Iterator[str]:
    """agentcore-system, made from the base's own Namespace object (with its Pod Security
    labels): a server dry run of namespaced objects needs their namespace to exist, and a
    dry run of the Namespace does not create it. Deleted afterwards if made here."""
    existed = cluster.kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0
    if not existed:
        namespace = find(render(cluster, MANIFESTS / "base"), "Namespace", NAMESPACE)
        cluster.kubectl(
            "apply", "--server-side", FIELD_MANAGER, "-f", "-", stdin=json.dumps(namespace)
        )
    try:
        yield NAMESPACE
    finally:
        if not existed:
            cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def dry_run(
    cluster: Cluster, *source: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl(*DRY_RUN, FIELD_MANAGER, *source, stdin=stdin, check=False)


# --- the CRD and the roles are still plain folders for `kubectl apply -f` -------------------


def test_kustomization_files_leave_kubectl_apply_f_alone(cluster: Cluster) -> None:
    """crds/ and manifests/rbac/ carry a `Kustomization` (no extension) for kustomize; `kubectl
    apply -f DIR` (the harness, tools/controlplane/up.sh, the shim's tests) must not read it."""
    for folder, expected in (
        (REPO / "crds", {"trainingjobs.training.agentcore.dev"}),
        (
            MANIFESTS / "rbac",
            {
                "agentcore-training-view",
                "agentcore-training-edit",
                "agentcore-training-admin",
                "agentcore-training-rpc",
            },
        ),
    ):
        result = dry_run(cluster, "-f", str(folder), "-o", "name")
        assert result.returncode == 0, result.stderr
        names = {line.rsplit("/", 1)[-1] for line in result.stdout.split()}
        assert names == expected


# --- overlays: server-side dry runs against the real apiserver -----------------------------


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_overlay_passes_a_server_side_dry_run(
    cluster: Cluster, system_namespace: str, overlay: str
) -> None:
    objects = render(cluster, OVERLAYS / overlay)
    result = dry_run(cluster, "-k", str(OVERLAYS / overlay), "-o", "name")
    assert result.returncode == 0, result.stderr
    # Every object went through the apiserver (schema, strict field validation, admission),
    # and nothing drew a warning (Pod Security, deprecated APIs, unknown fields).
    assert len(result.stdout.split()) == len(objects)
    assert "Warning" not in result.stderr, result.stderr
    kinds = {o["kind"] for o in objects}
    assert kinds == {
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ValidatingWebhookConfiguration",
    }


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("containerPort: 8443", "containerPort: 84430", "84430"),  # schema: a port is < 65536
        ("  replicas: 1\n  strategy:", "  replica: 1\n  strategy:", "replica"),  # unknown field
    ],
)
def test_a_broken_manifest_fails_the_dry_run(
    cluster: Cluster, system_namespace: str, tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    """The dry run above is a real check: a copy with one mistake in the base fails it."""
    shutil.copytree(REPO / "crds", tmp_path / "crds")
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    operator = tmp_path / "manifests" / "base" / "operator.yaml"
    text = operator.read_text()
    assert text.count(old) == 1
    operator.write_text(text.replace(old, new))
    cluster.kubectl("kustomize", str(tmp_path / "manifests" / "overlays" / "dev"))  # still renders
    result = dry_run(cluster, "-k", str(tmp_path / "manifests" / "overlays" / "dev"))
    assert result.returncode != 0
    assert complaint in result.stderr, result.stderr


def pod_from(deployment: dict[str, Any]) -> dict[str, Any]:
    template = deployment["spec"]["template"]
    spec = {**template["spec"], "serviceAccountName": "default"}  # PSS does not look at it
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pss-{uuid.uuid4().hex[:8]}", "namespace": NAMESPACE},
        "spec": spec,
    }


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_pods_meet_the_restricted_pod_security_standard(
    cluster: Cluster, system_namespace: str, overlay: str
) -> None:
    """Pod Security admission enforces on Pods, not on Deployments: dry-run each pod template
    as a Pod in agentcore-system, whose namespace enforces `restricted`."""
    deployments = [o for o in render(cluster, OVERLAYS / overlay) if o["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {OPERATOR, "agentcore-rpc"}
    for deployment in deployments:
        pod = pod_from(deployment)
        result = cluster.kubectl(
            "create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False
        )
        assert result.returncode == 0, result.stderr
        # And the namespace really enforces it: the same pod, allowed to escalate, is refused.
        pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
        refused = cluster.kubectl(
            "create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False
        )
        assert refused.returncode != 0
        assert "PodSecurity" in refused.stderr, refused.stderr


# --- cert-manager ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["production", "dev"])
def test_cert_manager_overlay(cluster: Cluster, system_namespace: str, overlay: str) -> None:
    """overlays/OVERLAY-cert-manager = overlays/OVERLAY + components/cert-manager.

    cert-manager's CRDs are not installed on this control plane (and cannot be, offline), so
    its Issuers and Certificates can only be rendered and checked here, not dry-run on the
    apiserver; everything else of the overlay is dry-run."""
    documents = render_documents(cluster, OVERLAYS / f"{overlay}-cert-manager")
    objects = [obj for obj, _ in documents]
    without = render(cluster, OVERLAYS / overlay)
    cert_manager = [o for o in objects if o["apiVersion"] == "cert-manager.io/v1"]
    rest = [text for o, text in documents if o["apiVersion"] != "cert-manager.io/v1"]
    assert len(rest) == len(without)

    issuers = {o["metadata"]["name"]: o for o in cert_manager if o["kind"] == "Issuer"}
    certificates = {o["metadata"]["name"]: o for o in cert_manager if o["kind"] == "Certificate"}
    assert len(issuers) == 2
    assert len(certificates) == 2
    for o in cert_manager:
        assert o["metadata"]["namespace"] == NAMESPACE
        if o["kind"] == "Certificate":
            assert o["spec"]["issuerRef"]["kind"] == "Issuer"
            assert o["spec"]["issuerRef"]["name"] in issuers
    ca_certificate = next(c for c in certificates.values() if c["spec"].get("isCA"))
    assert "selfSigned" in issuers[ca_certificate["spec"]["issuerRef"]["name"]]["spec"]
    serving = next(c for c in certificates.values() if not c["spec"].get("isCA"))
    ca_issuer = issuers[serving["spec"]["issuerRef"]["name"]]
    assert ca_issuer["spec"]["ca"]["secretName"] == ca_certificate["spec"]["secretName"]

    # The operator mounts the serving certificate's secret, and its advertised name is in it.
    operator = find(objects, "Deployment", OPERATOR)
    (tls,) = [v for v in operator["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"]
    assert tls["secret"]["secretName"] == serving["spec"]["secretName"]
    env = {
        e["name"]: e.get("value")
        for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    host = env["AGENTCORE_OPERATOR_ADVERTISE_URL"].removeprefix("https://").split(":")[0]
    assert host in serving["spec"]["dnsNames"]
    assert f"{OPERATOR}.{NAMESPACE}.svc" in serving["spec"]["dnsNames"]

    # cainjector fills the webhook's caBundle from that Certificate.
    webhook = find(objects, "ValidatingWebhookConfiguration", "trainingjobs.training.agentcore.dev")
    annotation = webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert annotation == f"{NAMESPACE}/{serving['metadata']['name']}"

    result = dry_run(cluster, "-f", "-", "-o", "name", stdin="\n---\n".join(rest))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == len(rest)


# --- the webhook configuration ---------------------------------------------------------------


def test_static_webhook_configuration_is_the_operators_own(cluster: Cluster) -> None:
    """WEBHOOK_MODE=none hands the configuration to the manifests: it must be exactly what
    the operator's `service` mode would register, less the caBundle (injected later)."""
    objects = render(cluster, MANIFESTS / "base")
    static = find(objects, "ValidatingWebhookConfiguration", "trainingjobs.training.agentcore.dev")
    service = find(objects, "Service", OPERATOR)
    (https,) = [p for p in service["spec"]["ports"] if p["name"] == "https"]
    expected = build_webhook_configuration(
        "trainingjobs.training.agentcore.dev", "", service=(NAMESPACE, OPERATOR, https["port"])
    )
    for webhook in expected["webhooks"]:
        del webhook["clientConfig"]["caBundle"]
    assert static["webhooks"] == expected["webhooks"]

    operator = find(objects, "Deployment", OPERATOR)
    env = {
        e["name"]: e.get("value")
        for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["AGENTCORE_OPERATOR_WEBHOOK_MODE"] == "none"
    assert env["AGENTCORE_OPERATOR_LISTEN_PORT"] == str(https["port"])


# --- RBAC: least privilege ---------------------------------------------------------------------

OPERATOR_RULES = {
    ("training.agentcore.dev", "trainingjobs"): {"get", "list", "watch"},
    ("training.agentcore.dev", "trainingjobs/status"): {"patch"},
    ("batch", "jobs"): {"create", "get", "list", "watch", "patch", "delete"},
    ("", "pods"): {"get", "list", "watch", "delete"},
    ("", "configmaps"): {"get"},
    ("", "services"): {"create", "get"},  # a multi-pod run's headless Service
    ("", "events"): {"create"},
    ("authentication.k8s.io", "tokenreviews"): {"create"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "namespaces"): {"list", "watch"},
}


def test_operator_cluster_role_has_exactly_the_rules_it_needs(cluster: Cluster) -> None:
    role = find(render(cluster, MANIFESTS / "base"), "ClusterRole", OPERATOR)
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "resourceNames" not in rule
        assert "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == OPERATOR_RULES
    assert not any("*" in verbs for verbs in granted.values())


@pytest.fixture(scope="module")
def applied_rbac(cluster: Cluster) -> Iterator[None]:
    """The base's ClusterRoles and ClusterRoleBindings, applied for real: can-i asks the
    authorizer, which needs them to exist. They bind only ServiceAccounts of agentcore-system.
    The operator's are removed afterwards unless they were there before (a cluster given by
    KUBECONFIG may run the product); the shim's and the user roles are the ones the shim's
    tests apply too, from manifests/rbac/, and stay."""
    objects = render(cluster, MANIFESTS / "base")
    rbac = [o for o in objects if o["kind"] in {"ClusterRole", "ClusterRoleBinding"}]
    kinds = ("clusterrolebinding", "clusterrole")
    existed = {
        kind: cluster.kubectl("get", kind, OPERATOR, check=False).returncode == 0 for kind in kinds
    }
    stream = "\n---\n".join(json.dumps(o) for o in rbac)
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", FIELD_MANAGER, "-f", "-", stdin=stream
    )
    try:
        yield
    finally:
        for kind in kinds:
            if not existed[kind]:
                cluster.kubectl("delete", kind, OPERATOR, "--ignore-not-found", check=False)


def can_i(cluster: Cluster, user: str, verb: str, resource: str, *scope: str) -> bool:
    result = cluster.kubectl("auth", "can-i", verb, resource, f"--as={user}", *scope, check=False)
    answer = result.stdout.strip()
    assert answer in {"yes", "no"}, result.stderr
    return answer == "yes"


TENANT = ("-n", "team-a")
EVERYWHERE = ("--all-namespaces",)


@pytest.mark.parametrize(
    ("verb", "resource", "scope"),
    [
        ("list", "trainingjobs.training.agentcore.dev", EVERYWHERE),
        ("watch", "trainingjobs.training.agentcore.dev", EVERYWHERE),
        ("get", "trainingjobs.training.agentcore.dev", TENANT),
        ("patch", "trainingjobs.training.agentcore.dev", (*TENANT, "--subresource=status")),
        ("create", "jobs.batch", TENANT),
        ("delete", "jobs.batch", TENANT),
        ("patch", "jobs.batch", TENANT),
        ("watch", "jobs.batch", EVERYWHERE),
        ("list", "pods", EVERYWHERE),
        ("get", "pods", TENANT),
        ("delete", "pods", TENANT),  # the stall watchdog
        ("get", "configmaps", TENANT),
        ("create", "services", TENANT),
        ("get", "services", TENANT),
        ("create", "events", TENANT),
        ("create", "tokenreviews.authentication.k8s.io", ()),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io", ()),
        ("list", "namespaces", ()),
    ],
)
def test_operator_can(
    cluster: Cluster, applied_rbac: None, verb: str, resource: str, scope: tuple[str, ...]
) -> None:
    assert can_i(cluster, OPERATOR_SA, verb, resource, *scope)


@pytest.mark.parametrize(
    ("verb", "resource", "scope"),
    [
        ("get", "secrets", TENANT),
        ("list", "secrets", EVERYWHERE),
        ("delete", "trainingjobs.training.agentcore.dev", TENANT),
        ("create", "trainingjobs.training.agentcore.dev", TENANT),
        ("patch", "trainingjobs.training.agentcore.dev", TENANT),  # spec: the users' to change
        ("update", "trainingjobs.training.agentcore.dev", (*TENANT, "--subresource=status")),
        ("create", "pods", TENANT),
        ("create", "pods", (*TENANT, "--subresource=exec")),
        ("update", "jobs.batch", TENANT),
        ("list", "configmaps", TENANT),
        ("patch", "configmaps", TENANT),
        ("delete", "services", TENANT),  # the garbage collector's, through the owner
        ("list", "services", EVERYWHERE),
        ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io", ()),
        ("create", "subjectaccessreviews.authorization.k8s.io", ()),
        ("impersonate", "serviceaccounts", TENANT),
        ("create", "serviceaccounts/token", TENANT),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", ()),
        ("*", "*", EVERYWHERE),
    ],
)
def test_operator_cannot(
    cluster: Cluster, applied_rbac: None, verb: str, resource: str, scope: tuple[str, ...]
) -> None:
    assert not can_i(cluster, OPERATOR_SA, verb, resource, *scope)


def test_shim_gets_its_own_role_and_no_more(cluster: Cluster, applied_rbac: None) -> None:
    assert can_i(cluster, RPC_SA, "create", "trainingjobs.training.agentcore.dev", *TENANT)
    assert can_i(cluster, RPC_SA, "create", "subjectaccessreviews.authorization.k8s.io")
    assert not can_i(cluster, RPC_SA, "get", "secrets", *TENANT)
    assert not can_i(
        cluster,
        RPC_SA,
        "patch",
        "trainingjobs.training.agentcore.dev",
        *TENANT,
        "--subresource=status",
    )
    assert not can_i(cluster, RPC_SA, "create", "jobs.batch", *TENANT)


# --- the certificate without cert-manager ---------------------------------------------------


def test_make_webhook_certs_script(cluster: Cluster, namespace: str) -> None:
    """tools/certs/make-webhook-certs.sh against a real apiserver, on a throwaway webhook
    configuration that matches nothing (the real one would gate every TrainingJob of the
    session): the secret the operator mounts, a certificate for the Service's names signed by
    the CA, that CA in the caBundle; and a second run keeps the CA (trainers trust it)."""
    name = f"certs-test-{uuid.uuid4().hex[:8]}.agentcore.dev"
    configuration = build_webhook_configuration(name, "unused", service=(namespace, OPERATOR, 8443))
    configuration["webhooks"][0]["failurePolicy"] = "Ignore"
    configuration["webhooks"][0]["rules"][0]["apiGroups"] = ["nothing.agentcore.invalid"]
    del configuration["webhooks"][0]["clientConfig"]["caBundle"]
    cluster.kubectl("create", "-f", "-", stdin=json.dumps(configuration))
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "KUBECTL": cluster.kubectl_path,
        "NAMESPACE": namespace,
        "WEBHOOK_CONFIGURATION": name,
    }

    def run_script() -> None:
        result = subprocess.run(
            ["bash", str(CERTS_SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    try:
        run_script()
        secret = cluster.get_json("secret", "-n", namespace, "agentcore-training-operator-tls")
        assert secret["type"] == "kubernetes.io/tls"
        data = {k: base64.b64decode(v) for k, v in secret["data"].items()}  # type: ignore[union-attr]
        assert set(data) == {"tls.crt", "tls.key", "ca.crt"}
        ca = x509.load_pem_x509_certificate(data["ca.crt"])
        server = x509.load_pem_x509_certificate(data["tls.crt"])
        public_key = ca.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        assert server.signature_hash_algorithm is not None
        public_key.verify(
            server.signature,
            server.tbs_certificate_bytes,
            ec.ECDSA(server.signature_hash_algorithm),
        )
        names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"{OPERATOR}.{namespace}.svc" in names.get_values_for_type(x509.DNSName)
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

        # The operator's own way of loading it (controller/operator.py) accepts it.
        files = Path(cluster.cache_dir) / f"tls-{uuid.uuid4().hex[:8]}"
        files.mkdir()
        for key, value in data.items():
            (files / key).write_bytes(value)
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            files / "tls.crt", files / "tls.key"
        )

        webhook = cluster.get_json("validatingwebhookconfiguration", name)
        bundle = webhook["webhooks"][0]["clientConfig"]["caBundle"]  # type: ignore[index]
        assert base64.b64decode(bundle) == data["ca.crt"]

        run_script()  # idempotent: the CA running trainers trust stays
        again = cluster.get_json("secret", "-n", namespace, "agentcore-training-operator-tls")
        assert again["data"] == secret["data"]
    finally:
        cluster.kubectl(
            "delete", "validatingwebhookconfiguration", name, "--ignore-not-found", check=False
        )
