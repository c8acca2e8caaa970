"""The progress endpoint refuses whatever is not a report of this pod's own job.

The target job runs the real trainer, in the trainer image on a real node (or on the dev
runner where no node can start): its pod's token is the one a trainer really holds.
"""

from __future__ import annotations

import json
import ssl
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
)

pytestmark = pytest.mark.real_node


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
        trainingjob(
            "target",
            queries="queries",
            mode=None,  # the real trainer: long enough to be running while the test posts
            config={"nIterations": 2000, "batchSize": 4, "maxNewTokens": 3},
        ),
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
        "--image-pull-policy=Never",  # only its identity matters: no registry is reached
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
