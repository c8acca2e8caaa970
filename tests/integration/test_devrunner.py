"""The dev runner against a real control plane: it runs trainer Pods as local processes,
with ConfigMap volumes, pod-bound tokens and termination messages, and writes their status
so that the Job controller finishes Jobs.

Trainer-labelled pods are run by the session's `dev_runner` (the console script, as the
operator's tests use it): only one runner may watch a cluster's trainer pods. The tests that
start a runner of their own (to stop it, or in-process) give their pods other labels."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentcore_training import labels
from agentcore_training.devrunner.podrun import RunContext
from agentcore_training.devrunner.podspec import base_env
from agentcore_training.devrunner.runner import DevRunner
from agentcore_training.kube.client import KubeClient
from agentcore_training.kube.pods import pods_path
from tests.support.cluster import Cluster

RUNNER_SCRIPT = Path(sys.executable).parent / "agentcore-dev-runner"
TEST_LABEL = "devrunner-test.agentcore.dev/run"
RUN_ID = uuid.uuid4().hex[:8]
TRAINER_LABELS = {labels.COMPONENT: labels.TRAINER_COMPONENT, labels.MANAGED_BY: labels.MANAGER}


def _own_labels(run: str) -> dict[str, str]:
    """Labels the session's dev runner (trainer selector) does not match, for the tests that
    start a runner of their own: one runner per pod, as on a real cluster."""
    return {labels.COMPONENT: "devrunner-test", TEST_LABEL: run}


def _own_selector(run: str) -> str:
    return f"{TEST_LABEL}={run}"


def _pod(
    name: str, command: list[str], pod_labels: dict[str, str] = TRAINER_LABELS, **spec: Any
) -> dict[str, Any]:
    container = {"name": "trainer", "image": "ignored.example/trainer:1", "command": command}
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(pod_labels)},
        "spec": {
            "serviceAccountName": "default",
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5,
            "containers": [container],
            **spec,
        },
    }


def _apply(cluster: Cluster, namespace: str, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))


def _wait_phase(cluster: Cluster, namespace: str, pod: str, phase: str, timeout: int = 30) -> Any:
    result = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        f"--for=jsonpath={{.status.phase}}={phase}",
        f"pod/{pod}",
        f"--timeout={timeout}s",
        check=False,
        timeout=timeout + 10,
    )
    got = cluster.get_json("pod", pod, "-n", namespace)
    assert result.returncode == 0, f"pod {pod} not {phase}: {json.dumps(got.get('status'))}"
    return got


def _terminated(pod: Any) -> dict[str, Any]:
    terminated: dict[str, Any] = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    return terminated


def _pid_of(pod: Any) -> int:
    return int(pod["status"]["containerStatuses"][0]["containerID"].removeprefix("dev-runner://"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.1)


@contextlib.contextmanager
def _runner_process(cluster: Cluster, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """The console script, as someone runs it by hand; its log goes to `log`."""
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(RUNNER_SCRIPT), "--workdir", str(log.parent / "work"), *args],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


READ_AND_REPORT = textwrap.dedent(
    """
    import json, os, stat
    greeting = open(os.environ["GREETING_FILE"]).read()
    token = open(os.environ["TOKEN_FILE"]).read()
    mode = stat.S_IMODE(os.stat(os.environ["GREETING_FILE"]).st_mode)
    report = {"greeting": greeting, "token": token, "pod": os.environ["POD_NAME"],
              "ip": os.environ["POD_IP"], "mode": oct(mode), "cwd": os.getcwd()}
    with open(os.environ["TERMINATION_LOG"], "w") as out:
        json.dump(report, out)
    print("reported", len(token))
    """
)


def test_pod_runs_with_config_map_and_pod_bound_token(
    cluster: Cluster, namespace: str, dev_runner: object
) -> None:
    cluster.kubectl(
        "create", "configmap", "greeting", "-n", namespace, "--from-literal=msg=hello GRPO"
    )
    pod = _pod(
        "reader",
        [sys.executable, "-c", READ_AND_REPORT],
        container={
            "env": [
                {"name": "GREETING_FILE", "value": "/etc/greeting/msg"},
                {"name": "TOKEN_FILE", "value": "/var/run/agentcore/token"},
                {"name": "TERMINATION_LOG", "value": "/dev/termination-log"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            ],
            "volumeMounts": [
                {"name": "greeting", "mountPath": "/etc/greeting", "readOnly": True},
                {"name": "token", "mountPath": "/var/run/agentcore", "readOnly": True},
            ],
        },
        volumes=[
            {"name": "greeting", "configMap": {"name": "greeting"}},
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
                        }
                    ]
                },
            },
        ],
    )
    _apply(cluster, namespace, pod)
    done = _wait_phase(cluster, namespace, "reader", "Succeeded")

    terminated = _terminated(done)
    assert terminated["exitCode"] == 0
    assert terminated["reason"] == "Completed"
    assert terminated["startedAt"] <= terminated["finishedAt"]
    report = json.loads(terminated["message"])
    assert report["greeting"] == "hello GRPO"
    assert report["pod"] == "reader"
    assert report["ip"] == "127.0.0.1"
    assert report["mode"] == "0o444"
    assert done["status"]["podIP"] == "127.0.0.1"
    conditions = {c["type"]: c["status"] for c in done["status"]["conditions"]}
    assert conditions["PodScheduled"] == "True"

    # The token the process read is real, for the progress audience, and bound to the pod.
    review = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": report["token"], "audiences": [labels.PROGRESS_TOKEN_AUDIENCE]},
    }
    out = cluster.kubectl("create", "-f", "-", "-o", "json", stdin=json.dumps(review)).stdout
    reviewed = json.loads(out)["status"]
    assert reviewed["authenticated"] is True, reviewed
    assert reviewed["user"]["username"] == f"system:serviceaccount:{namespace}:default"
    assert reviewed["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["reader"]
    assert reviewed["audiences"] == [labels.PROGRESS_TOKEN_AUDIENCE]


def test_failing_command_fails_the_pod_with_its_logs(
    cluster: Cluster, namespace: str, dev_runner: object
) -> None:
    script = (
        "import sys; print('about to fail'); sys.stderr.write('boom: no budget\\n'); sys.exit(3)"
    )
    pod = _pod(
        "failing",
        [sys.executable, "-c", script],
        container={"terminationMessagePolicy": "FallbackToLogsOnError"},
    )
    _apply(cluster, namespace, pod)
    done = _wait_phase(cluster, namespace, "failing", "Failed")
    terminated = _terminated(done)
    assert terminated["exitCode"] == 3
    assert terminated["reason"] == "Error"
    assert "boom: no budget" in terminated["message"]


def test_pod_waits_for_a_missing_config_map(
    cluster: Cluster, namespace: str, dev_runner: object
) -> None:
    pod = _pod(
        "waiter",
        # `cp` is resolved on PATH; both args are container paths, translated
        ["cp", "/etc/later/key", "/dev/termination-log"],
        container={
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [{"name": "later", "mountPath": "/etc/later"}],
        },
        volumes=[{"name": "later", "configMap": {"name": "later"}}],
    )
    _apply(cluster, namespace, pod)
    deadline = time.monotonic() + 20
    while True:
        waiting = cluster.get_json("pod", "waiter", "-n", namespace)["status"]
        statuses = waiting.get("containerStatuses") or []  # type: ignore[attr-defined]
        if statuses:
            break
        assert time.monotonic() < deadline, waiting
        time.sleep(0.3)
    assert waiting["phase"] == "Pending"  # type: ignore[index]
    state = statuses[0]["state"]["waiting"]
    assert state["reason"] == "CreateContainerConfigError"
    assert "later" in state["message"]
    cluster.kubectl("create", "configmap", "later", "-n", namespace, "--from-literal=key=arrived")
    done = _wait_phase(cluster, namespace, "waiter", "Succeeded")
    assert _terminated(done)["exitCode"] == 0
    assert _terminated(done)["message"] == "arrived"


def test_job_completes(cluster: Cluster, namespace: str, dev_runner: object) -> None:
    template = _pod("unused", [sys.executable, "-c", "print('trained')"])
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "train"},
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": template["metadata"], "spec": template["spec"]},
        },
    }
    del job["spec"]["template"]["metadata"]["name"]
    _apply(cluster, namespace, job)
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Complete", "job/train", "--timeout=45s",
        timeout=60,
    )  # fmt: skip
    status = cluster.get_json("job", "train", "-n", namespace)["status"]
    assert status["succeeded"] == 1  # type: ignore[index]


def test_deleting_the_pod_kills_its_process(
    cluster: Cluster, namespace: str, dev_runner: object
) -> None:
    _apply(cluster, namespace, _pod("sleeper", ["sleep", "300"]))
    running = _wait_phase(cluster, namespace, "sleeper", "Running")
    pid = _pid_of(running)
    assert _alive(pid)
    cluster.kubectl("delete", "pod", "sleeper", "-n", namespace, "--timeout=30s", timeout=40)
    _wait_dead(pid)
    gone = cluster.kubectl("get", "pod", "sleeper", "-n", namespace, check=False)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr


def test_stopping_the_runner_kills_children_and_fails_their_pods(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    run = f"{RUN_ID}-stop"
    log = tmp_path / "runner.log"
    with _runner_process(
        cluster, log, "--namespace", namespace, "--selector", _own_selector(run)
    ) as process:
        _apply(cluster, namespace, _pod("long", ["sleep", "300"], _own_labels(run)))
        pid = _pid_of(_wait_phase(cluster, namespace, "long", "Running"))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log.read_text()[-3000:]
    _wait_dead(pid, timeout=2)
    stopped = cluster.get_json("pod", "long", "-n", namespace)
    assert stopped["status"]["phase"] == "Failed"  # type: ignore[index]
    assert stopped["status"]["reason"] == "DevRunnerStopped"  # type: ignore[index]
    assert _terminated(stopped)["exitCode"] == 143  # SIGTERM


async def test_in_process_runner_honours_active_deadline(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    run = f"{RUN_ID}-deadline"
    pod = _pod("deadline", ["sleep", "300"], _own_labels(run), activeDeadlineSeconds=2)
    _apply(cluster, namespace, pod)
    settings = RunContext(
        workdir=tmp_path,
        base_env=base_env(os.environ, str(Path(sys.executable).parent)),
        logger=logging.getLogger("test.devrunner"),
    )
    async with await KubeClient.connect(str(cluster.kubeconfig)) as client:
        in_process = DevRunner(client, settings, namespace=namespace, selector=_own_selector(run))
        stop = asyncio.Event()
        task = asyncio.create_task(in_process.run(stop))
        try:
            async with asyncio.timeout(30):
                while True:
                    got = await client.get_or_none(pods_path(namespace, "deadline"))
                    assert got is not None
                    if got.get("status", {}).get("phase") == "Failed":
                        break
                    await asyncio.sleep(0.3)
        finally:
            stop.set()
            await task
    assert got["status"]["reason"] == "DeadlineExceeded"
    assert _terminated(got)["exitCode"] == 143
    assert (tmp_path / "pods" / namespace).is_dir()


def test_refuses_to_start_on_a_cluster_with_ready_nodes(cluster: Cluster, tmp_path: Path) -> None:
    node = f"fake-node-{RUN_ID}"
    cluster.kubectl("create", "-f", "-", stdin=json.dumps(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}
    ))  # fmt: skip
    try:
        ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
        cluster.kubectl(
            "patch", "node", node, "--subresource=status", "--type=merge", "-p", json.dumps(ready)
        )
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        refused = subprocess.run(
            [str(RUNNER_SCRIPT), "--workdir", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        cluster.kubectl("delete", "node", node, "--wait=false", check=False)
    assert refused.returncode == 2, refused.stderr
    assert "Ready Nodes" in refused.stderr
    assert node in refused.stderr
