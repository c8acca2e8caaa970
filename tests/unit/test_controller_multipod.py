"""The multi-pod builder pieces: an Indexed Job of M trainer pods and its headless Service."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentcore_training import labels
from agentcore_training.api.resource import TrainingJob
from agentcore_training.controller.jobs import JobSettings, build_job, job_name
from agentcore_training.controller.multipod import (
    RENDEZVOUS_PORT,
    build_headless_service,
    build_trainer_job,
    build_trainer_service,
    indexed_job,
)
from agentcore_training.controller.objects import is_reporting_pod, pods_per_attempt
from agentcore_training.controller.progress import attempt_of
from agentcore_training.controller.state import ClusterState
from agentcore_training.labels import COMPLETION_INDEX_ANNOTATION

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
    # Rank 0's pod succeeding is the Job's success; the others are then ended, not retried.
    assert spec["successPolicy"] == {"rules": [{"succeededIndexes": "0"}]}
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


def _pod(name: str, created: str, index: str | None) -> dict[str, Any]:
    annotations = {} if index is None else {COMPLETION_INDEX_ANNOTATION: index}
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {labels.JOB_ID: "u-1"},
            "annotations": annotations,
        }
    }


def test_runtime_pods_builds_the_indexed_job_and_its_service() -> None:
    body = TJ.model_dump(by_alias=True, mode="json")
    body["spec"]["runtime"]["pods"] = 2
    two = TrainingJob.model_validate(body)
    job = build_trainer_job(two, SETTINGS)
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == 2
    assert _container(job)["command"][3:5] == ["--nnodes", "2"]
    service = build_trainer_service(two)
    assert service is not None
    assert service["metadata"]["name"] == job_name(two)
    assert build_trainer_service(TJ) is None  # one pod: no Service
    assert "completionMode" not in build_trainer_job(TJ, SETTINGS)["spec"]


def test_the_batch_must_give_every_rank_of_every_pod_a_query() -> None:
    body = TJ.model_dump(by_alias=True, mode="json")
    body["spec"]["runtime"]["pods"] = 5  # 5 pods x 2 processes > batchSize 8
    with pytest.raises(ValidationError, match=r"runtime\.pods"):
        TrainingJob.model_validate(body)
    body["spec"]["runtime"]["pods"] = 4
    assert TrainingJob.model_validate(body).spec.runtime.world_size() == 8


def test_only_index_0_pods_count_as_attempts() -> None:
    state = ClusterState()
    pods = [
        _pod("dp-0-a", "2026-01-01T00:00:00Z", "0"),
        _pod("dp-1-a", "2026-01-01T00:00:00Z", "1"),
        _pod("dp-1-b", "2026-01-01T00:01:00Z", "1"),
        _pod("dp-0-b", "2026-01-01T00:01:01Z", "0"),
    ]
    for pod in pods:
        state.put_pod(pod)
    assert {p["metadata"]["name"] for p in state.pods_of("u-1")} == {"dp-0-a", "dp-0-b"}
    # The first attempt failed both pods: the Job counts 2 failures, one attempt.
    job = {"spec": {"completionMode": "Indexed", "completions": 2}, "status": {"failed": 2}}
    assert pods_per_attempt(job) == 2
    assert attempt_of(pods[3], state.pods_of("u-1"), job, 1) == 2
    assert attempt_of(pods[0], state.pods_of("u-1"), job, None) == 2  # never below failed + 1
    single = {"spec": {}, "status": {"failed": 2}}
    assert pods_per_attempt(single) == 1
    assert is_reporting_pod(_pod("one", "2026-01-01T00:00:00Z", None))
