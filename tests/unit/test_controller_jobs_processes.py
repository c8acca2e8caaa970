"""runtime.processesPerPod: the trainer container under torchrun, one process per rank."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentcore_training.api.crd import build_crd
from agentcore_training.api.resource import TrainingJob
from agentcore_training.controller.jobs import JobSettings, build_job

COMMAND = ("python3", "-m", "agentcore_training.trainer.main")
SETTINGS = JobSettings(
    progress_url="https://operator.example:8443/progress",
    progress_ca_pem=None,
    service_account="default",
    command=COMMAND,
    termination_grace_seconds=30,
)


def _job(runtime: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    trainingjob = TrainingJob.model_validate(
        {
            "metadata": {"name": "dp", "namespace": "team-a", "uid": "u-1"},
            "spec": {
                "agentId": "adder",
                "queries": {"configMapRef": {"name": "q"}},
                "config": config or {"batchSize": 8},
                "runtime": runtime,
            },
        }
    )
    return build_job(trainingjob, SETTINGS)


def _container(job: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


def _threads(job: dict[str, Any]) -> str:
    env = {e["name"]: e.get("value") for e in _container(job)["env"]}
    return str(env["OMP_NUM_THREADS"])


def test_one_process_runs_the_trainer_command_itself() -> None:
    job = _job({"resources": {"requests": {"cpu": "4"}}})
    assert _container(job)["command"] == list(COMMAND)
    assert _threads(job) == "4"


def test_processes_per_pod_runs_the_trainer_under_torchrun() -> None:
    job = _job({"processesPerPod": 2, "resources": {"requests": {"cpu": "4"}}})
    assert _container(job)["command"] == [
        "python3",
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--standalone",
        "-m",
        "agentcore_training.trainer.main",
    ]
    assert _threads(job) == "2"  # the requested cores shared by the processes


def test_the_default_is_one_process_per_gpu() -> None:
    job = _job({"resources": {"requests": {"cpu": "1"}, "limits": {"nvidia.com/gpu": 2}}})
    assert _container(job)["command"][:6] == [
        "python3",
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--standalone",
    ]
    assert _threads(job) == "1"  # never 0
    explicit = _job({"processesPerPod": 1, "resources": {"limits": {"nvidia.com/gpu": 2}}})
    assert _container(explicit)["command"] == list(COMMAND)


def test_a_batch_smaller_than_the_processes_is_refused() -> None:
    with pytest.raises(ValidationError, match="batchSize must be at least"):
        _job({"processesPerPod": 4}, {"batchSize": 2})
    with pytest.raises(ValidationError, match="batchSize must be at least"):
        _job({"resources": {"limits": {"nvidia.com/gpu": 4}}}, {"batchSize": 2})


def test_the_crd_refuses_it_too() -> None:
    spec = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules = [r["rule"] for r in spec["x-kubernetes-validations"]]
    assert any("self.runtime.processesPerPod" in rule for rule in rules)
    runtime = spec["properties"]["runtime"]["properties"]
    assert runtime["processesPerPod"]["minimum"] == 1
