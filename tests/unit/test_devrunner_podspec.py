"""The dev runner's pure parts: Pod -> LocalProcessPlan translation and status builders."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentcore_training import labels
from agentcore_training.devrunner import status
from agentcore_training.devrunner.podenv import expand_vars
from agentcore_training.devrunner.podmodel import (
    CONFIG_ERROR,
    UNSUPPORTED,
    Fetched,
    PathMapping,
    PlanError,
    TokenKey,
)
from agentcore_training.devrunner.podspec import base_env, needs_of, plan_pod, translate_path

SANDBOX = Path("/sandbox/pods/ns/trainer-abc-12345678")
CLAIMS = Path("/sandbox/pvcs/ns")
BASE = {"PATH": "/venv/bin:/usr/bin", "HOME": "/home/me"}

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "trainer-abc",
        "namespace": "ns",
        "uid": "12345678-aaaa-bbbb-cccc-000000000000",
        "labels": {"app.kubernetes.io/component": "trainer", "job-name": "tj-1"},
    },
    "spec": {
        "serviceAccountName": "trainer",
        "terminationGracePeriodSeconds": 7,
        "containers": [
            {
                "name": "trainer",
                "image": "ghcr.io/example/trainer:1",
                "command": ["agentcore-trainer"],
                "args": [
                    "--queries-file",
                    "/etc/agentcore/queries/queries.jsonl",
                    "--checkpoint-dir=/var/lib/agentcore/checkpoints",
                    "--pod=$(POD_NAME)",
                    "/var/run/agentcore-other",
                ],
                "env": [
                    {"name": "PLAIN", "value": "x"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {
                        "name": "POD_NAMESPACE",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                    },
                    {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                    {
                        "name": "SA",
                        "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}},
                    },
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {
                        "name": "JOB",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['job-name']"}},
                    },
                    {
                        "name": "FROM_CM",
                        "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "level"}},
                    },
                    {
                        "name": "FROM_SECRET",
                        "valueFrom": {"secretKeyRef": {"name": "creds", "key": "api-key"}},
                    },
                    {"name": "AGENTCORE_TOKEN_FILE", "value": "/var/run/agentcore/token"},
                    {"name": "AGENTCORE_TERMINATION_LOG", "value": "/dev/termination-log"},
                    {"name": "GREETING", "value": "hello $(POD_NAME) $$(POD_NAME) $(NOPE)"},
                ],
                "volumeMounts": [
                    {"name": "queries", "mountPath": "/etc/agentcore/queries", "readOnly": True},
                    {"name": "token", "mountPath": "/var/run/agentcore"},
                    {"name": "scratch", "mountPath": "/var/run/agentcore/scratch"},
                    {"name": "data", "mountPath": "/var/lib/agentcore/checkpoints"},
                ],
            }
        ],
        "volumes": [
            {
                "name": "queries",
                "configMap": {
                    "name": "queries",
                    "items": [{"key": "queries.jsonl", "path": "queries.jsonl"}],
                },
            },
            {
                "name": "token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": labels.PROGRESS_TOKEN_AUDIENCE,
                                "expirationSeconds": 600,
                                "path": "token",
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}}
                                ]
                            }
                        },
                    ]
                },
            },
            {"name": "scratch", "emptyDir": {}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "checkpoints"}},
            {"name": "unused", "configMap": {"name": "never-read"}},
        ],
    },
    "status": {"phase": "Pending"},
}

TOKEN_KEY = TokenKey(labels.PROGRESS_TOKEN_AUDIENCE, 600)
FETCHED = Fetched(
    config_maps={
        "queries": {"data": {"queries.jsonl": '{"q": 1}\n', "other": "no"}},
        "settings": {"data": {"level": "debug"}},
    },
    secrets={"creds": {"data": {"api-key": base64.b64encode(b"s3cret").decode()}}},
    tokens={TOKEN_KEY: "the-token"},
)


def _plan(pod: dict[str, Any] | None = None, fetched: Fetched = FETCHED) -> Any:
    return plan_pod(pod or POD, SANDBOX, fetched, BASE, claims_dir=CLAIMS)


def _with_container(**changes: Any) -> dict[str, Any]:
    pod = copy.deepcopy(POD)
    pod["spec"]["containers"][0].update(changes)
    return pod


def test_needs_lists_only_mounted_and_referenced_objects() -> None:
    needs = needs_of(POD)
    assert needs.service_account == "trainer"
    assert dict(needs.config_maps) == {"queries": False, "settings": False}
    assert dict(needs.secrets) == {"creds": False}
    assert needs.tokens == frozenset({TOKEN_KEY})


def test_env_plain_field_refs_and_key_refs() -> None:
    env = _plan().env
    assert env["PLAIN"] == "x"
    assert env["POD_NAME"] == "trainer-abc"
    assert env["POD_NAMESPACE"] == "ns"
    assert env["POD_UID"] == POD["metadata"]["uid"]
    assert env["SA"] == "trainer"
    assert env["POD_IP"] == "127.0.0.1"
    assert env["JOB"] == "tj-1"
    assert env["FROM_CM"] == "debug"
    assert env["FROM_SECRET"] == "s3cret"
    assert env["HOSTNAME"] == "trainer-abc"
    # the base env comes first, the pod's env wins
    assert env["PATH"] == "/venv/bin:/usr/bin"
    assert env["HOME"] == "/home/me"


def test_var_expansion_like_kubernetes() -> None:
    assert _plan().env["GREETING"] == "hello trainer-abc $(POD_NAME) $(NOPE)"
    assert expand_vars("$(A)/$(B)", {"A": "1"}) == "1/$(B)"
    assert expand_vars("a$b$", {}) == "a$b$"
    assert expand_vars("$(A", {"A": "1"}) == "$(A"
    assert expand_vars("$$$(A)", {"A": "1"}) == "$1"


def test_paths_in_env_and_args_move_into_the_sandbox() -> None:
    plan = _plan()
    assert plan.env["AGENTCORE_TOKEN_FILE"] == str(SANDBOX / "volumes/token/token")
    assert plan.env["AGENTCORE_TERMINATION_LOG"] == str(SANDBOX / "termination-log")
    assert plan.argv == (
        "agentcore-trainer",
        "--queries-file",
        str(SANDBOX / "volumes/queries/queries.jsonl"),
        f"--checkpoint-dir={CLAIMS / 'checkpoints'}",
        "--pod=trainer-abc",
        "/var/run/agentcore-other",  # a sibling of a mountPath, not under it
    )
    assert plan.termination_log == SANDBOX / "termination-log"
    assert plan.cwd == SANDBOX / "work"
    assert plan.grace_period_s == 7
    assert plan.active_deadline_s is None


def test_longest_mount_path_wins() -> None:
    plan = _plan()
    mapped = translate_path("/var/run/agentcore/scratch/x", plan.path_map)
    assert mapped == str(SANDBOX / "volumes/scratch/x")
    assert translate_path("/var/run/agentcore", plan.path_map) == str(SANDBOX / "volumes/token")
    assert [m.container_path for m in plan.path_map] == sorted(
        (m.container_path for m in plan.path_map), key=len, reverse=True
    )


def test_translate_leaves_other_text_alone() -> None:
    path_map = (PathMapping("/data", Path("/sb/data")),)
    assert translate_path("/data", path_map) == "/sb/data"
    assert translate_path("/data/", path_map) == "/sb/data/"
    assert translate_path("/database", path_map) == "/database"
    assert translate_path("print('/data')", path_map) == "print('/data')"
    assert translate_path("--out=/data/x", path_map) == "--out=/sb/data/x"
    assert translate_path("-o=/data", path_map) == "-o=/sb/data"
    assert translate_path("x=/data", path_map) == "x=/data"


def test_volume_files_items_modes_and_tokens() -> None:
    files = {f.path: f for f in _plan().files}
    queries = files[SANDBOX / "volumes/queries/queries.jsonl"]
    assert queries.content == b'{"q": 1}\n'
    assert queries.mode == 0o444  # 0644 without write bits: a read-only mount
    assert SANDBOX / "volumes/queries/other" not in files  # only the items subset
    token = files[SANDBOX / "volumes/token/token"]
    assert token.content == b"the-token"
    assert token.token == TOKEN_KEY
    assert files[SANDBOX / "volumes/token/uid"].content == POD["metadata"]["uid"].encode()
    assert not any("unused" in str(path) for path in files)


def test_config_map_without_items_writes_every_key_with_default_mode() -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["volumes"][0]["configMap"] = {"name": "queries", "defaultMode": 0o640}
    files = {f.path.name: f for f in _plan(pod).files if "queries" in str(f.path.parent)}
    assert set(files) == {"queries.jsonl", "other"}
    assert files["other"].mode == 0o440


def test_sub_path_and_working_dir() -> None:
    pod = _with_container(workingDir="/var/run/agentcore/scratch/run")
    pod["spec"]["containers"][0]["volumeMounts"].append(
        {"name": "queries", "mountPath": "/q.jsonl", "subPath": "queries.jsonl"}
    )
    plan = _plan(pod)
    assert plan.cwd == SANDBOX / "volumes/scratch/run"
    assert translate_path("/q.jsonl", plan.path_map) == str(
        SANDBOX / "volumes/queries/queries.jsonl"
    )


def test_custom_termination_message_path() -> None:
    plan = _plan(_with_container(terminationMessagePath="/tmp/msg", args=["/tmp/msg"]))
    assert plan.argv[-1] == str(SANDBOX / "termination-log")
    assert plan.termination_log == SANDBOX / "termination-log"


def test_missing_objects_are_retryable_config_errors() -> None:
    for fetched in (
        Fetched(config_maps={"queries": FETCHED.config_maps["queries"]}, tokens=FETCHED.tokens),
        Fetched(
            config_maps={"settings": FETCHED.config_maps["settings"]},
            secrets=FETCHED.secrets,
            tokens=FETCHED.tokens,
        ),
    ):
        with pytest.raises(PlanError) as caught:
            _plan(fetched=fetched)
        assert caught.value.reason == CONFIG_ERROR
        assert caught.value.retryable


def test_optional_missing_objects_are_skipped() -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["containers"][0]["env"].append(
        {
            "name": "MAYBE",
            "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": True}},
        }
    )
    assert "MAYBE" not in _plan(pod).env


@pytest.mark.parametrize(
    "change",
    [
        {"command": []},
        {"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]},
        {"workingDir": "/not/mounted"},
    ],
)
def test_unsupported_pods_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(PlanError) as caught:
        _plan(_with_container(**change))
    assert caught.value.reason == UNSUPPORTED
    assert not caught.value.retryable


def test_two_containers_or_host_path_are_refused() -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["containers"].append(pod["spec"]["containers"][0])
    with pytest.raises(PlanError):
        needs_of(pod)
    pod = copy.deepcopy(POD)
    pod["spec"]["volumes"][2] = {"name": "scratch", "hostPath": {"path": "/tmp"}}
    with pytest.raises(PlanError, match="hostPath"):
        _plan(pod)


def test_base_env_puts_the_python_bin_dir_first() -> None:
    env = base_env(
        {"PATH": "/usr/bin", "HOME": "/h", "KUBECONFIG": "/k", "OMP_NUM_THREADS": "1"}, "/venv/bin"
    )
    assert env["PATH"] == "/venv/bin:/usr/bin"
    assert env["HOME"] == "/h"
    assert env["OMP_NUM_THREADS"] == "1"
    assert "KUBECONFIG" not in env


# Status builders -----------------------------------------------------------------------

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC)
CONTAINER = status.ContainerInfo("trainer", "img:1", "dev-runner://42")


def test_running_status() -> None:
    built = status.running_status(CONTAINER, start_time=T0, started_at=T0)
    assert built["phase"] == "Running"
    assert built["podIP"] == "127.0.0.1"
    assert built["startTime"] == "2026-01-02T03:04:05Z"
    conditions = {c["type"]: c["status"] for c in built["conditions"]}
    for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
        assert conditions[kind] == "True"
    (cs,) = built["containerStatuses"]
    assert cs["state"] == {"running": {"startedAt": "2026-01-02T03:04:05Z"}}
    assert cs["ready"] is True
    assert cs["started"] is True
    assert cs["restartCount"] == 0
    assert (cs["name"], cs["image"], cs["containerID"]) == ("trainer", "img:1", "dev-runner://42")
    assert "imageID" in cs


def test_terminated_status_success_and_failure() -> None:
    ok = status.terminated_status(
        CONTAINER, exit_code=0, message="done", start_time=T0, started_at=T0, finished_at=T1
    )
    assert ok["phase"] == "Succeeded"
    terminated = ok["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert terminated["reason"] == "Completed"
    assert terminated["message"] == "done"
    assert terminated["finishedAt"] == "2026-01-02T03:05:00Z"
    assert {c["type"]: c["status"] for c in ok["conditions"]}["Ready"] == "False"

    bad = status.terminated_status(
        CONTAINER, exit_code=3, message="", start_time=T0, started_at=T0, finished_at=T1
    )
    assert bad["phase"] == "Failed"
    assert bad["containerStatuses"][0]["state"]["terminated"]["reason"] == "Error"
    assert "reason" not in bad

    stopped = status.terminated_status(
        CONTAINER,
        exit_code=0,
        message="",
        start_time=T0,
        started_at=T0,
        finished_at=T1,
        pod_reason=status.RUNNER_STOPPED,
    )
    assert stopped["phase"] == "Failed"
    assert stopped["reason"] == "DevRunnerStopped"


def test_waiting_status() -> None:
    built = status.waiting_status(CONTAINER, reason=CONFIG_ERROR, message="no cm", start_time=T0)
    assert built["phase"] == "Pending"
    waiting = built["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": CONFIG_ERROR, "message": "no cm"}


def test_termination_message_limits_and_fallback() -> None:
    assert status.termination_message(b"x" * 5000, policy="File", exit_code=1) == "x" * 4096
    logs = b"".join(f"line {i}\n".encode() for i in range(200))
    fallback = status.termination_message(
        b"", policy="FallbackToLogsOnError", exit_code=1, log_tail=logs
    )
    assert fallback.endswith("line 199\n")
    assert fallback.startswith("line 120\n")  # the last 80 lines
    assert status.termination_message(b"", policy="File", exit_code=1, log_tail=logs) == ""
    assert (
        status.termination_message(b"", policy="FallbackToLogsOnError", exit_code=0, log_tail=logs)
        == ""
    )
    big = b"y" * 3000 + b"\n"
    assert (
        len(
            status.termination_message(
                b"", policy="FallbackToLogsOnError", exit_code=2, log_tail=big
            )
        )
        == 2048
    )


def test_exit_codes_of_signals() -> None:
    assert status.exit_code_of(0) == 0
    assert status.exit_code_of(3) == 3
    assert status.exit_code_of(-15) == 143
    assert status.exit_code_of(-9) == 137


def test_host_paths_below_a_mount_path_stay_the_hosts() -> None:
    """A checkout under /tmp (an emptyDir in trainer pods) keeps its host paths."""
    path_map = [PathMapping("/tmp", Path("/sb/tmp"))]
    on_host = {"/tmp/checkout/.venv/bin/python"}
    assert translate_path("/tmp", path_map, on_host.__contains__) == "/sb/tmp"
    assert (
        translate_path("/tmp/checkout/.venv/bin/python", path_map, on_host.__contains__)
        == "/tmp/checkout/.venv/bin/python"
    )
    assert translate_path("/tmp/new-file", path_map, on_host.__contains__) == "/sb/tmp/new-file"


def test_a_trainer_pod_with_evaluation_queries_gets_both_files() -> None:
    """The dev runner follows the Job's volumes: the evaluation queries' ConfigMap is written
    into the sandbox and AGENTCORE_EVAL_QUERIES_FILE points at it."""
    from agentcore_training.api.resource import TrainingJob
    from agentcore_training.controller.jobs import JobSettings, build_job

    trainingjob = TrainingJob.model_validate(
        {
            "metadata": {"name": "tj", "namespace": "ns", "uid": POD["metadata"]["uid"]},
            "spec": {
                "agentId": "bot",
                "queries": {"configMapRef": {"name": "train-q"}},
                "evaluation": {"queries": {"configMapRef": {"name": "eval-q", "key": "e.jsonl"}}},
            },
        }
    )
    settings = JobSettings(
        progress_url="https://op:8443/progress",
        progress_ca_pem="",
        service_account="default",
        command=("agentcore-trainer",),
        termination_grace_seconds=5,
    )
    template = build_job(trainingjob, settings)["spec"]["template"]
    pod = {"metadata": {**POD["metadata"], **template["metadata"]}, "spec": template["spec"]}
    assert needs_of(pod).config_maps == {"train-q": False, "eval-q": False}
    fetched = Fetched(
        config_maps={
            "train-q": {"data": {"queries.jsonl": "train\n"}},
            "eval-q": {"data": {"e.jsonl": "eval\n"}},
        },
        tokens={TokenKey(labels.PROGRESS_TOKEN_AUDIENCE, 3600): "t"},
    )
    plan = _plan(pod, fetched)
    eval_file = SANDBOX / "volumes/eval-queries/e.jsonl"
    assert plan.env["AGENTCORE_EVAL_QUERIES_FILE"] == str(eval_file)
    assert plan.env["AGENTCORE_QUERIES_FILE"] == str(SANDBOX / "volumes/queries/queries.jsonl")
    assert {f.path: f.content for f in plan.files}[eval_file] == b"eval\n"
