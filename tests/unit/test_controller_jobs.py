"""build_job: the trainer's batch/v1 Job, as a pure function of the TrainingJob."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentcore_training import labels
from agentcore_training.api.contract import ENV_OUTPUT_DIR
from agentcore_training.api.resource import TrainingJob
from agentcore_training.controller.jobs import JobSettings, build_job, job_name

SETTINGS = JobSettings(
    progress_url="https://operator.example:8443/progress",
    progress_ca_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    service_account="default",
    command=("agentcore-trainer",),
    termination_grace_seconds=30,
)
UID = "7d0c3a4e-1111-4222-8333-944455556666"


def _tj(**spec: Any) -> TrainingJob:
    return TrainingJob.model_validate(
        {
            "metadata": {"name": "support-bot-run", "namespace": "team-a", "uid": UID},
            "spec": {
                "agentId": "support-bot",
                "queries": {"configMapRef": {"name": "q", "key": "data.jsonl"}},
                **spec,
            },
        }
    )


def _container(job: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(job: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(job)["env"]}


def test_deterministic_name_labels_and_owner() -> None:
    job = build_job(_tj(), SETTINGS)
    assert job == build_job(_tj(), SETTINGS)
    assert job["metadata"]["name"] == job_name(_tj())
    assert len(job["metadata"]["name"]) <= 63
    assert job["metadata"]["namespace"] == "team-a"
    assert job["metadata"]["labels"][labels.JOB_ID] == UID
    assert job["metadata"]["labels"][labels.AGENT_ID] == "support-bot"
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert pod_labels[labels.COMPONENT] == labels.TRAINER_COMPONENT
    assert pod_labels[labels.MANAGED_BY] == labels.MANAGER
    (owner,) = job["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "name": "support-bot-run",
        "uid": UID,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_long_names_are_shortened_and_distinct_per_uid() -> None:
    long = TrainingJob.model_validate(
        {
            "metadata": {"name": "x" * 200, "namespace": "n", "uid": UID},
            "spec": {"agentId": "a", "queries": {"configMapRef": {"name": "q"}}},
        }
    )
    other = long.model_copy(update={"metadata": {**long.metadata, "uid": "other-uid"}})
    assert len(job_name(long)) <= 63
    assert job_name(long) != job_name(other)


def test_pod_meets_the_restricted_pod_security_standard() -> None:
    pod = build_job(_tj(), SETTINGS)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = pod["containers"][0]["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert not any("hostPath" in v for v in pod["volumes"])


def test_queries_token_and_progress_wiring() -> None:
    job = build_job(_tj(), SETTINGS)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["queries"]["configMap"]["name"] == "q"
    assert volumes["queries"]["configMap"]["items"] == [{"key": "data.jsonl", "path": "data.jsonl"}]
    token = volumes["token"]["projected"]["sources"][0]["serviceAccountToken"]
    assert token["audience"] == labels.PROGRESS_TOKEN_AUDIENCE
    mounts = {m["name"]: m for m in _container(job)["volumeMounts"]}
    assert mounts["queries"]["readOnly"] is True
    assert mounts["token"]["readOnly"] is True
    env = _env(job)
    assert env["AGENTCORE_QUERIES_FILE"] == "/var/run/agentcore/queries/data.jsonl"
    assert env["AGENTCORE_PROGRESS_URL"] == SETTINGS.progress_url
    assert env["AGENTCORE_PROGRESS_CA_PEM"] == SETTINGS.progress_ca_pem
    assert env["AGENTCORE_JOB_ID"] == UID
    assert json.loads(env["AGENTCORE_SPEC"])["agentId"] == "support-bot"


def test_runtime_fields_reach_the_job() -> None:
    job = build_job(
        _tj(
            runtime={
                "backoffLimit": 4,
                "activeDeadlineSeconds": 600,
                "ttlSecondsAfterFinished": 120,
                "queueName": "gpu-queue",
                "resources": {"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}},
                "checkpointVolume": {"claimName": "ckpt"},
            }
        ),
        SETTINGS,
    )
    spec = job["spec"]
    assert spec["backoffLimit"] == 4
    assert spec["activeDeadlineSeconds"] == 600
    assert spec["ttlSecondsAfterFinished"] == 120
    assert job["metadata"]["labels"][labels.KUEUE_QUEUE_NAME] == "gpu-queue"
    assert spec["suspend"] is True  # Kueue admits it by un-suspending
    assert _container(job)["resources"] == {"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}}
    assert _env(job)["OMP_NUM_THREADS"] == "2"
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["checkpoints"]["persistentVolumeClaim"]["claimName"] == "ckpt"
    mounts = {m["name"]: m for m in _container(job)["volumeMounts"]}
    assert mounts["checkpoints"]["subPath"] == UID


def test_spec_output_mounts_its_claim_read_write_and_names_the_folder() -> None:
    job = build_job(_tj(output={"claimName": "models", "path": "support-bot/v3"}), SETTINGS)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["output"] == {"name": "output", "persistentVolumeClaim": {"claimName": "models"}}
    mounts = {m["name"]: m for m in _container(job)["volumeMounts"]}
    # The whole claim, writable: the trainer renames its finished folder into place.
    assert mounts["output"] == {"name": "output", "mountPath": "/var/lib/agentcore/output"}
    assert _env(job)[ENV_OUTPUT_DIR] == "/var/lib/agentcore/output/support-bot/v3"


def test_without_spec_output_no_volume_and_no_output_dir() -> None:
    job = build_job(_tj(), SETTINGS)
    assert "output" not in {v["name"] for v in job["spec"]["template"]["spec"]["volumes"]}
    assert "output" not in {m["name"] for m in _container(job)["volumeMounts"]}
    assert ENV_OUTPUT_DIR not in _env(job)


@pytest.mark.parametrize("suspend", [True, False])
def test_suspend_follows_the_spec(suspend: bool) -> None:
    assert build_job(_tj(suspend=suspend), SETTINGS)["spec"]["suspend"] is suspend


def test_bad_input_exit_code_fails_the_job_without_retries() -> None:
    rules = build_job(_tj(), SETTINGS)["spec"]["podFailurePolicy"]["rules"]
    assert rules[0]["action"] == "FailJob"
    assert rules[0]["onExitCodes"]["values"] == [2]


def test_pvc_queries_are_mounted_read_only() -> None:
    job = build_job(
        _tj(queries={"persistentVolumeClaim": {"claimName": "data", "path": "a/q.jsonl"}}),
        SETTINGS,
    )
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["queries"]["persistentVolumeClaim"] == {"claimName": "data", "readOnly": True}
    assert _env(job)["AGENTCORE_QUERIES_FILE"] == "/var/run/agentcore/queries/a/q.jsonl"


@pytest.mark.parametrize(
    ("source", "volume_key", "volume", "file"),
    [
        (
            {"configMapRef": {"name": "eval-q"}},
            "configMap",
            {
                "name": "eval-q",
                "items": [{"key": "queries.jsonl", "path": "queries.jsonl"}],
                "defaultMode": 0o444,
            },
            "/var/run/agentcore/eval-queries/queries.jsonl",
        ),
        (
            {"persistentVolumeClaim": {"claimName": "data", "path": "eval/q.jsonl"}},
            "persistentVolumeClaim",
            {"claimName": "data", "readOnly": True},
            "/var/run/agentcore/eval-queries/eval/q.jsonl",
        ),
    ],
)
def test_evaluation_queries_of_their_own_are_mounted_and_named(
    source: dict[str, Any], volume_key: str, volume: dict[str, Any], file: str
) -> None:
    job = build_job(_tj(evaluation={"queries": source}), SETTINGS)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["eval-queries"][volume_key] == volume
    assert volumes["queries"]["configMap"]["name"] == "q"  # the training queries unchanged
    mounts = {m["name"]: m for m in _container(job)["volumeMounts"]}
    assert mounts["eval-queries"] == {
        "name": "eval-queries",
        "mountPath": "/var/run/agentcore/eval-queries",
        "readOnly": True,
    }
    assert _env(job)["AGENTCORE_EVAL_QUERIES_FILE"] == file


def test_no_evaluation_queries_no_volume_and_no_variable() -> None:
    job = build_job(_tj(), SETTINGS)
    assert "eval-queries" not in {v["name"] for v in job["spec"]["template"]["spec"]["volumes"]}
    assert "AGENTCORE_EVAL_QUERIES_FILE" not in _env(job)
