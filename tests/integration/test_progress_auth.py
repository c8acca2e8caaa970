"""The progress endpoint refuses whatever is not a report of this pod's own job."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from agentcore_training import labels
from tests.support.cluster import Cluster
from tests.support.processes import OperatorProcess
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    get,
    trainingjob,
    wait_for,
    wait_for_iteration,
    wait_until,
)

STATUS_INTERVAL_S = 2.0  # the operator's default AGENTCORE_OPERATOR_STATUS_INTERVAL_SECONDS


def _post(operator: OperatorProcess, body: dict[str, Any], token: str | None) -> int:
    context = ssl.create_default_context(cafile=str(operator.log_path.parent / "tls" / "ca.crt"))
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - the operator on loopback
        f"{operator.url}/progress", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
            status: int = answer.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def _token(cluster: Cluster, namespace: str, audience: str, pod: dict[str, Any] | None) -> str:
    args = ["create", "token", "default", "-n", namespace, "--audience", audience]
    if pod is not None:
        args += [
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            pod["metadata"]["name"],
            "--bound-object-uid",
            pod["metadata"]["uid"],
        ]
    return cluster.kubectl(*args).stdout.strip()


def _report(job_id: str, iteration: int) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "iteration": iteration,
        "totalIterations": 200,
        "state": "running",
        "metrics": {"avgReward": 0.99},
        "costUsd": "0.50",
        "budgetUsd": "10.00",
    }


def test_progress_reports_are_authenticated_and_bound_to_their_job(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    target = apply(
        cluster,
        namespace,
        trainingjob("target", queries="queries", mode="slow", config={"nIterations": 200}),
    )
    victim = apply(cluster, namespace, trainingjob("victim", queries="queries", suspend=True))
    wait_for(cluster, namespace, "victim", "Suspended")
    wait_for_iteration(cluster, namespace, "target", 1)
    selector = f"{labels.JOB_ID}={target['metadata']['uid']}"
    target_pod = cluster.get_json("pods", "-n", namespace, "-l", selector)["items"][0]  # type: ignore[index]
    cluster.kubectl(
        "run",
        "stranger",
        "-n",
        namespace,
        "--image=busybox",
        "--restart=Never",
        "--overrides",
        json.dumps({"spec": {"serviceAccountName": "default"}}),
    )
    stranger = get(cluster, namespace, "stranger", kind="pod")
    victim_uid = victim["metadata"]["uid"]
    before = get(cluster, namespace, "victim")["status"]
    audience = labels.PROGRESS_TOKEN_AUDIENCE

    assert _post(operator, _report(victim_uid, 50), None) == 401
    assert _post(operator, _report(victim_uid, 50), "not-a-token") == 401
    wrong_audience = _token(cluster, namespace, "https://kubernetes.default.svc", target_pod)
    assert _post(operator, _report(victim_uid, 50), wrong_audience) == 401
    unbound = _token(cluster, namespace, audience, None)
    assert _post(operator, _report(victim_uid, 50), unbound) == 403
    strangers = _token(cluster, namespace, audience, stranger)
    assert _post(operator, _report(victim_uid, 50), strangers) == 403
    targets = _token(cluster, namespace, audience, target_pod)
    assert _post(operator, _report(victim_uid, 50), targets) == 403  # another job's report
    assert _post(operator, _report(target["metadata"]["uid"], 0), targets) == 409  # went down

    after = get(cluster, namespace, "victim")["status"]
    assert after == before
    refused = [
        line
        for line in operator.metrics().splitlines()
        if line.startswith("agentcore_operator_progress_reports_total{")
    ]
    assert any('result="403"' in line for line in refused)
    assert any('result="accepted"' in line for line in refused)


@pytest.mark.usefixtures("operator")
def test_status_writes_are_coalesced(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    def patches() -> float:
        for line in operator.metrics().splitlines():
            if line.startswith('agentcore_operator_status_patches_total{source="progress"}'):
                return float(line.split()[-1])
        return 0.0

    create_queries(cluster, namespace, "queries", addition_queries(125))
    # The counter is the operator's, for all jobs: wait until no other trainer runs.
    wait_until(
        lambda: not cluster.get_json("pods", "-A", "-l", labels.TRAINER_POD_SELECTOR)["items"],
        60,
        "other trainers to stop",
    )
    start, began = patches(), time.monotonic()
    # The stand-in reports every 0.2 s: 21 reports in 4 s and more.
    apply(cluster, namespace, trainingjob("chatty", queries="queries", config={"nIterations": 20}))
    done = wait_for(cluster, namespace, "chatty", "Completed")
    assert done["status"]["progress"]["currentIteration"] == 20
    # A write already scheduled when the job finished still lands: let it, then count.
    time.sleep(STATUS_INTERVAL_S + 0.5)
    written = patches() - start
    elapsed = time.monotonic() - began
    # At most one write per 2 s interval (plus the first), far fewer than one per report.
    assert 1 <= written <= elapsed / STATUS_INTERVAL_S + 1, (written, elapsed)
    assert written <= 21 / 3
