"""The real trainer on the real node (tools/node/), through the operator, with no dev runner.

A TrainingJob runs `agentcore-trainer` in a container of the trainer image's CPU flavour
(`tools/images/build.sh trainer-cpu`, imported into the session's node: tests/conftest.py
`real_node`), scheduled by kube-scheduler onto the node and started by the kubelet. Its
progress reports reach the operator over pod networking (the node's bridge address); its
termination message is read by the kubelet and the operator. A second Pod, made from the
operator's own Job template, checks from inside the container that the restricted Pod
Security Standard holds.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training import labels
from agentcore_training.api.contract import ProgressState, TerminationSummary
from tests.support.cluster import Cluster
from tests.support.node import TRAINER_CPU_REPOSITORY, Node, node_unavailable
from tests.support.processes import OperatorProcess
from tests.support.trainer_runtime import TrainerRuntime
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    trainingjob,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.real_node]
IMAGE = f"{TRAINER_CPU_REPOSITORY}:0.1.0"
ITERATIONS = 4

# Run inside the trainer image, under the Job template's security context: one JSON line.
PROBE = """
import json, os, subprocess, sys
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
try:
    open("/written-by-probe", "w").close()
    root_writable = True
except OSError:
    root_writable = False
import torch
usage = subprocess.run([sys.executable, "-m", "agentcore_training.trainer.main", "--help"],
                       capture_output=True, text=True)
report = json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "root_writable": root_writable,
    "no_new_privs": status["NoNewPrivs"].strip(), "seccomp": status["Seccomp"].strip(),
    "cap_eff": status["CapEff"].strip(), "torch": torch.__version__,
    "cuda": torch.cuda.is_available(), "help_exit": usage.returncode,
    "help_first_line": usage.stdout.splitlines()[0] if usage.stdout else usage.stderr[-300:],
})
print(report)
open(sys.argv[1], "w").write(report)
"""


@pytest.fixture(scope="module")
def node_operator(
    trainer_runtime: TrainerRuntime, operator: OperatorProcess
) -> tuple[Cluster, Node, OperatorProcess]:
    """The session's real node (the trainer-cpu image imported) and the operator for it."""
    if trainer_runtime.node is None:
        pytest.skip(f"no real node here: {node_unavailable() or 'see the session summary'}")
    return trainer_runtime.cluster, trainer_runtime.node, operator


def _trainer_pod(cluster: Cluster, namespace: str, uid: str) -> dict[str, Any]:
    pods: Any = cluster.get_json("pods", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
    assert len(pods["items"]) == 1, [p["metadata"]["name"] for p in pods["items"]]
    return dict(pods["items"][0])


def _accepted_reports(operator: OperatorProcess) -> float:
    for line in operator.metrics().splitlines():
        if line.startswith('agentcore_operator_progress_reports_total{result="accepted"}'):
            return float(line.split()[-1])
    return 0.0


def test_a_trainingjob_completes_on_the_real_node_and_the_pod_is_restricted(
    node_operator: tuple[Cluster, Node, OperatorProcess],
) -> None:
    cluster, node, operator = node_operator
    with cluster.namespace("node-trainer") as namespace:
        create_queries(cluster, namespace, "queries", addition_queries(125))
        manifest = trainingjob(
            "on-node",
            queries="queries",
            mode=None,
            config={
                "nIterations": ITERATIONS,
                "batchSize": 4,
                "nTrajectoriesPerQuery": 4,
                "maxNewTokens": 3,
                "learningRate": 1e-3,
                "checkpointInterval": 2,
                "maxBudgetUsd": "1.00",
            },
            pricing={"computeUsdPerHour": "3.60", "usdPer1kCompletionTokens": "0.01"},
            runtime={"image": IMAGE, "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
        )
        started = time.monotonic()
        created = apply(cluster, namespace, manifest)
        done = wait_for(cluster, namespace, "on-node", "Completed", timeout=600)
        print(
            f"TrainingJob apply -> Completed on the real node in {time.monotonic() - started:.1f} s"
        )
        _check_status(done["status"])
        pod = _trainer_pod(cluster, namespace, created["metadata"]["uid"])
        _check_trainer_pod(pod, node, done["status"])
        # Reports POSTed to https://<bridge address>:<port> (the trainer sends at most one
        # every 2 s, and its last at once); without them the status would come from the
        # termination message alone.
        reports = _accepted_reports(operator)
        print(f"progress reports accepted by the operator at {operator.url}: {reports:.0f}")
        assert reports >= 1
        _check_restricted(cluster, node, namespace, created["metadata"]["uid"])


def _check_status(status: dict[str, Any]) -> None:
    assert status["phase"] == "Completed", status
    assert status["progress"] == {
        "currentIteration": ITERATIONS,
        "totalIterations": ITERATIONS,
        "percentComplete": 100,
    }
    for key in ("avgReward", "loss", "kl", "tokens"):
        assert key in status["metrics"], key
    assert status["metrics"]["tokens"] > 0
    cost = Decimal(status["cost"]["costUsd"])
    assert Decimal("0") < cost <= Decimal("1.00")
    assert Decimal(status["cost"]["budgetRemainingUsd"]) == Decimal("1.00") - cost
    assert len(status["history"]["iterations"]) >= 1


def _check_trainer_pod(pod: dict[str, Any], node: Node, status: dict[str, Any]) -> None:
    assert pod["spec"]["nodeName"] == node.name  # scheduled onto the real node
    pod_ip = pod["status"]["podIP"]
    assert pod_ip != node.host_ip  # an address of its own on the node's bridge
    assert pod_ip.rsplit(".", 1)[0] == node.host_ip.rsplit(".", 1)[0]
    print(
        f"trainer pod {pod['metadata']['name']} ran on node {pod['spec']['nodeName']} "
        f"at {pod_ip}; the operator at {node.host_ip}"
    )
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
    started = datetime.fromisoformat(terminated["startedAt"])
    print(f"pod created -> trainer container running: {(started - created).total_seconds():.0f} s")
    assert terminated["exitCode"] == 0
    # The kubelet read the trainer's termination log: its summary, as the operator parses it.
    summary = TerminationSummary.from_message(terminated["message"])
    assert summary is not None, terminated["message"]
    assert summary.state == ProgressState.COMPLETED
    assert summary.exit_code == 0
    assert summary.iteration == ITERATIONS
    assert Decimal(str(summary.cost_usd)) == Decimal(status["cost"]["costUsd"])


def _check_restricted(cluster: Cluster, node: Node, namespace: str, uid: str) -> None:
    """A Pod from the operator's Job template (its security contexts, volumes, image), running
    PROBE instead of the trainer."""
    jobs: Any = cluster.get_json("jobs", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
    template = jobs["items"][0]["spec"]["template"]
    spec = template["spec"]
    container = spec["containers"][0]
    termination_log = container["terminationMessagePath"]
    container["command"] = ["python3", "-c", PROBE, termination_log]
    container["env"] = [e for e in container["env"] if e["name"] in ("HOME", "OMP_NUM_THREADS")]
    probe = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "restricted-probe"},
        "spec": spec,
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(probe))
    pod = _wait_finished(cluster, namespace, "restricted-probe")
    assert pod["spec"]["nodeName"] == node.name
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0, terminated
    seen = json.loads(terminated["message"])
    logged = json.loads(cluster.kubectl("logs", "-n", namespace, "restricted-probe").stdout)
    assert seen == logged
    print(f"inside the trainer container on {node.name}: {json.dumps(seen)}")
    assert seen["uid"] == 65532
    assert seen["gid"] == 65532
    assert seen["root_writable"] is False
    assert seen["no_new_privs"] == "1"
    assert seen["seccomp"] == "2"  # filter mode: the runtime's default profile
    assert seen["cap_eff"] == "0000000000000000"
    assert seen["cuda"] is False
    assert seen["help_exit"] == 0
    assert seen["help_first_line"].startswith("usage: agentcore-trainer")


def _wait_finished(cluster: Cluster, namespace: str, name: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod: Any = cluster.get_json("pod", name, "-n", namespace)
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return pod
        time.sleep(0.5)
    raise AssertionError(f"pod {name} did not finish in {timeout} s")
