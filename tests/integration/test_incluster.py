"""The in-cluster deployment on a real node: manifests/overlays/dev applied as a user would
(`kubectl apply --server-side -k`, then tools/certs/make-webhook-certs.sh), the operator and the
shim running as Pods from the locally built operator image (tools/images/build.sh operator,
imported into the node's containerd as the dev overlay's `ghcr.io/agentcore/operator:dev`),
and a TrainingJob submitted by JSON-RPC to the shim's pod that the operator's pod runs to
completion in a trainer Pod of the trainer-cpu image.

The loopback control plane has no kube-proxy and its apiserver listens on loopback:
tests/integration/overlays/loopback-node makes the operator's Service headless (the node's
CoreDNS then answers its name with the pod's IP) and adds what that apiserver does not inject
(the API token volume); the pods reach the apiserver by name at the node's bridge address
(hostAliases, added here), where tests/support/relay.py forwards to it; the apiserver calls
the webhook at its Service's endpoints (--enable-aggregator-routing). The manifests are
otherwise the dev overlay's.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentcore_training.api.contract import ENV_PROGRESS_URL
from tests.integration.rpc_support import result, service_account_token
from tests.support.cluster import REPO, Cluster, running_cluster
from tests.support.node import (
    TRAINER_IMAGE,
    Node,
    image_archive,
    node_unavailable,
    running_node,
)
from tests.support.relay import TcpRelay, apiserver_relay
from tests.support.trainingjobs import addition_queries, create_queries

pytestmark = [pytest.mark.integration, pytest.mark.builds_images]
OVERLAY = REPO / "tests" / "integration" / "overlays" / "loopback-node"
SYSTEM = "agentcore-system"
OPERATOR = "agentcore-training-operator"
SHIM = "agentcore-rpc"
OPERATOR_REPOSITORY = "ghcr.io/agentcore/operator"
OPERATOR_IMAGE = f"{OPERATOR_REPOSITORY}:dev"  # manifests/overlays/dev
SAMPLE = REPO / "manifests" / "samples" / "trainingjob-minimal.yaml"
PROGRESS_HOST = f"{OPERATOR}.{SYSTEM}.svc"  # the base's AGENTCORE_OPERATOR_ADVERTISE_URL
APISERVER_NAME = "kubernetes.default.svc"  # the overlay's KUBERNETES_SERVICE_HOST


@dataclass
class Deployed:
    cluster: Cluster
    node: Node
    relay: TcpRelay
    pods: dict[str, dict[str, Any]]  # Deployment name -> its one Ready pod
    timings: dict[str, float] = field(default_factory=dict)

    def ip(self, deployment: str) -> str:
        return str(self.pods[deployment]["status"]["podIP"])


def _kubectl_env(cluster: Cluster) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "KUBECTL": cluster.kubectl_path}


def _ready_pod(cluster: Cluster, deployment: str) -> dict[str, Any]:
    pods: Any = cluster.get_json("pods", "-n", SYSTEM, "-l", f"app.kubernetes.io/name={deployment}")
    [pod] = [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]
    return dict(pod)


def _overlay(folder: Path, host_ip: str) -> Path:
    """OVERLAY, with kubernetes.default.svc mapped to `host_ip` in the pods' /etc/hosts."""
    aliases = [{"ip": host_ip, "hostnames": [APISERVER_NAME]}]
    patch = [{"op": "add", "path": "/spec/template/spec/hostAliases", "value": aliases}]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(OVERLAY, folder)],
        "patches": [{"target": {"kind": "Deployment"}, "patch": json.dumps(patch)}],
    }
    (folder / "kustomization.yaml").write_text(json.dumps(kustomization))  # JSON is YAML
    return folder


def _deploy(cluster: Cluster, overlay: Path, timings: dict[str, float]) -> None:
    """What docs/deploy.md says, without cert-manager: apply, certificates, wait for rollout."""
    started = time.monotonic()
    cluster.kubectl("apply", "--server-side", "-k", str(overlay), timeout=120)
    subprocess.run(
        ["bash", str(REPO / "tools" / "certs" / "make-webhook-certs.sh")],
        env=_kubectl_env(cluster),
        check=True,
        capture_output=True,
        timeout=120,
    )
    for deployment in (OPERATOR, SHIM):
        rolled = cluster.kubectl(
            "rollout", "status", "-n", SYSTEM, f"deploy/{deployment}", "--timeout=240s",
            check=False, timeout=260,
        )  # fmt: skip
        if rolled.returncode != 0:
            described = cluster.kubectl("describe", "pods", "-n", SYSTEM, check=False).stdout
            logs = cluster.kubectl(
                "logs", "-n", SYSTEM, f"deploy/{deployment}", "--tail=40", check=False
            )
            raise AssertionError(
                f"{deployment} not rolled out: {rolled.stderr}\n{described[-4000:]}\n"
                f"{logs.stdout}{logs.stderr}"
            )
        timings[f"apply -> {deployment} Ready"] = time.monotonic() - started


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """Its own control plane and node, the images imported, overlays/dev applied and Ready."""
    reason = node_unavailable()
    if reason:
        pytest.skip(f"no real node here: {reason}")
    if os.environ.get("KUBECONFIG"):
        pytest.skip("KUBECONFIG names an external cluster: this test starts its own with a node")
    timings: dict[str, float] = {}
    started = time.monotonic()
    operator_archive = image_archive("operator")  # cached by its inputs
    timings["operator image (build.sh operator)"] = time.monotonic() - started
    started = time.monotonic()
    trainer_archive = image_archive("trainer-cpu")
    timings["trainer-cpu image (build.sh trainer-cpu)"] = time.monotonic() - started
    state = tmp_path_factory.mktemp("incluster")
    with (
        running_cluster(state) as cluster,
        running_node(cluster, state) as node,
        apiserver_relay(cluster, node.host_ip) as relay,
    ):
        started = time.monotonic()
        # As `kind load` does: the image under the name the manifests use; nothing is pulled.
        node.import_image(operator_archive, OPERATOR_REPOSITORY, OPERATOR_IMAGE)
        timings["import operator image"] = time.monotonic() - started
        started = time.monotonic()
        node.import_image(trainer_archive, TRAINER_IMAGE.rsplit(":", 1)[0])
        timings["import trainer-cpu image"] = time.monotonic() - started
        overlay = _overlay(tmp_path_factory.mktemp("overlay"), node.host_ip)
        _deploy(cluster, overlay, timings)
        pods = {name: _ready_pod(cluster, name) for name in (OPERATOR, SHIM)}
        yield Deployed(cluster, node, relay, pods, timings)
        for what, seconds in timings.items():
            print(f"{what}: {seconds:.1f} s")


def test_the_operator_and_the_shim_run_as_ready_pods_of_the_local_image(
    deployed: Deployed,
) -> None:
    for name, pod in deployed.pods.items():
        assert pod["spec"]["nodeName"] == deployed.node.name, name
        [status] = pod["status"]["containerStatuses"]
        assert status["ready"] is True, (name, status)
        assert pod["spec"]["containers"][0]["image"] == OPERATOR_IMAGE
        # The image imported here (the kubelet names it by its first tag, 0.1.0 or dev).
        assert status["image"].startswith(f"{OPERATOR_REPOSITORY}:"), (name, status["image"])
        assert status["restartCount"] == 0, (name, status)
        conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert conditions["Ready"] == "True", (name, conditions)
        # In the namespace that enforces `restricted`, as the base's pod templates ask.
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        print(f"{name}: pod {pod['metadata']['name']} Ready at {pod['status']['podIP']}")
    namespace: Any = deployed.cluster.get_json("namespace", SYSTEM)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # Both reached the apiserver through the relay (the shim is Ready only once its watch
    # cache has synced; the operator's watches feed the Job below).
    assert deployed.relay.connections >= 2


def test_the_webhook_rejects_a_trainingjob_with_fewer_than_100_queries(
    deployed: Deployed,
) -> None:
    cluster = deployed.cluster
    with cluster.namespace("incluster-bad") as namespace:
        # The sample as it is, with too few queries in the ConfigMap it names.
        create_queries(cluster, namespace, "support-bot-queries", addition_queries(50))
        created = cluster.kubectl("create", "-n", namespace, "-f", str(SAMPLE), check=False)
        assert created.returncode != 0
        # Denied by the operator's pod (not "failed calling webhook": it was reached over TLS).
        assert 'admission webhook "validate.training.agentcore.dev" denied' in created.stderr
        assert 'ConfigMap "support-bot-queries" key "queries.jsonl" holds 50 queries' in (
            created.stderr
        )
        assert "at least 100 are required" in created.stderr, created.stderr
        assert cluster.kubectl("get", "tj", "-n", namespace, "-o", "name").stdout == ""


def _accepted_reports(deployed: Deployed) -> float:
    url = f"http://{deployed.ip(OPERATOR)}:8080/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a pod IP
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith('agentcore_operator_progress_reports_total{result="accepted"}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_trainingjob_started_through_the_shim_completes_on_the_node(
    deployed: Deployed,
) -> None:
    cluster = deployed.cluster
    base = f"http://{deployed.ip(SHIM)}:8080"
    with cluster.namespace("incluster") as namespace:
        # A real ServiceAccount token for the shim's audience, bound to `edit` in the namespace.
        token = service_account_token(cluster, namespace, "edit", wait_for="create")
        queries = [json.loads(line) for line in addition_queries(125).splitlines()]
        started = time.monotonic()
        # manifests/samples/trainingjob-minimal.yaml through JSON-RPC: an agent and its queries.
        answer = await result(
            base,
            token,
            "training.start_grpo",
            {
                "agent_id": "support-bot",
                "training_queries": queries,
                "namespace": namespace,
            },
        )
        job_id = answer["job_id"]
        status: dict[str, Any] = {}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = await result(base, token, "training.get_status", {"job_id": job_id})
            if status["status"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(2)
        seconds = time.monotonic() - started
        print(f"start_grpo -> completed through the shim's pod in {seconds:.1f} s")
        assert status["status"] == "completed", status
        total = answer["total_iterations"]
        assert status["progress"] == {
            "current_iteration": total,
            "total_iterations": total,
            "percent_complete": 100,
        }
        assert status["cost"]["cost_usd"] > 0
        tj: Any = cluster.get_json("tj", answer["name"], "-n", namespace)
        assert tj["status"]["phase"] == "Completed"
        pods: Any = cluster.get_json(
            "pods", "-n", namespace, "-l", "app.kubernetes.io/component=trainer"
        )
        [pod] = pods["items"]
        assert pod["spec"]["nodeName"] == deployed.node.name
        assert pod["spec"]["containers"][0]["image"] == TRAINER_IMAGE
        # The trainer reported progress to the operator's pod by the Service's name (the
        # base's AGENTCORE_OPERATOR_ADVERTISE_URL, resolved by the node's CoreDNS).
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert PROGRESS_HOST in env[ENV_PROGRESS_URL], env
        assert _accepted_reports(deployed) >= 1
