"""The multi-pod builder pieces: an Indexed Job of M trainer pods and its headless Service."""

from __future__ import annotations

from typing import Any

from agentcore_training import labels
from agentcore_training.api.resource import TrainingJob
from agentcore_training.controller.jobs import JobSettings, build_job, job_name
from agentcore_training.controller.multipod import (
    COMPLETION_INDEX_ANNOTATION,
    RENDEZVOUS_PORT,
    build_headless_service,
    indexed_job,
)

COMMAND = ("python3", "-m", "agentcore_training.trainer.main")
SETTINGS = JobSettings(
    progress_url="https://operator.example:8443/progress",
    progress_ca_pem=None,
    service_account="default",
    command=COMMAND,
    termination_grace_seconds=30,
)
TJ = TrainingJob.model_validate(
    {
        "metadata": {"name": "dp", "namespace": "team-a", "uid": "u-1"},
        "spec": {
            "agentId": "adder",
            "queries": {"configMapRef": {"name": "q"}},
            "config": {"batchSize": 8},
            "runtime": {"processesPerPod": 2, "backoffLimit": 2},
        },
    }
)


def _container(job: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


def test_one_pod_keeps_the_job_as_it_is() -> None:
    job = build_job(TJ, SETTINGS)
    assert indexed_job(TJ, job, COMMAND, 1) is job


def test_m_pods_make_an_indexed_job_with_a_rendezvous_on_index_0() -> None:
    single = build_job(TJ, SETTINGS)
    job = indexed_job(TJ, single, COMMAND, 3)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 3
    assert spec["backoffLimit"] == 6  # a failed attempt may fail all 3 pods
    name = job_name(TJ)
    assert spec["template"]["spec"]["subdomain"] == name  # hostnames <job>-<index>.<service>
    host = f"{name}-0.{name}.team-a.svc"
    assert _container(job)["command"] == [
        "python3",
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "3",
        "--nproc-per-node",
        "2",
        "--node-rank",
        "$(AGENTCORE_NODE_RANK)",
        "--master-addr",
        host,
        "--master-port",
        str(RENDEZVOUS_PORT),
        "-m",
        "agentcore_training.trainer.main",
    ]
    env = {e["name"]: e for e in _container(job)["env"]}
    field = env["AGENTCORE_NODE_RANK"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert field == f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"
    assert _container(single)["command"][:3] == ["python3", "-m", "torch.distributed.run"]
    assert "completionMode" not in single["spec"]  # the one-pod Job was not changed


def test_the_headless_service_selects_the_trainer_pods_before_they_are_ready() -> None:
    service = build_headless_service(TJ)
    assert service["metadata"]["name"] == job_name(TJ)
    assert service["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    spec = service["spec"]
    assert spec["clusterIP"] == "None"
    assert spec["publishNotReadyAddresses"] is True
    assert spec["selector"] == {
        labels.JOB_ID: "u-1",
        labels.COMPONENT: labels.TRAINER_COMPONENT,
    }
    job = indexed_job(TJ, build_job(TJ, SETTINGS), COMMAND, 2)
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"].items() <= pod_labels.items()
    assert spec["ports"] == [{"name": "rendezvous", "port": RENDEZVOUS_PORT}]
