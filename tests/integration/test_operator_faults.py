"""Faults under the operator, with the stand-in trainer (tests/support/stand_in_trainer.py)
in its hang mode: a trainer that stops reporting, deaf to SIGTERM and to cancel."""

from __future__ import annotations

import re
import time

import pytest

from agentcore_training import labels
from tests.support.cluster import Cluster
from tests.support.processes import OperatorProcess
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    conditions_of,
    create_queries,
    get,
    jobs_in,
    trainingjob,
    wait_for,
    wait_for_iteration,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("operator")


def test_a_hung_trainer_is_deleted_retried_and_fails_with_progress_deadline_exceeded(
    cluster: Cluster, namespace: str
) -> None:
    # The stand-in's hang mode: the handshake, two reports, then silence, deaf to SIGTERM.
    create_queries(cluster, namespace, "queries", addition_queries(125))
    runtime = {"backoffLimit": 1, "progressDeadlineSeconds": 5}
    apply(
        cluster,
        namespace,
        trainingjob(
            "hung", queries="queries", mode="hang", config={"nIterations": 50}, runtime=runtime
        ),
    )
    failed = wait_for(cluster, namespace, "hung", "Failed", timeout=180)
    status, conditions = failed["status"], conditions_of(failed)
    assert conditions["Failed"]["reason"] == "ProgressDeadlineExceeded"
    assert "no progress report for" in conditions["Failed"]["message"]
    assert (conditions["Hung"]["status"], conditions["Hung"]["reason"]) == (
        "True",
        "ProgressDeadlineExceeded",
    )
    assert status["lastReportTime"]
    # The retry carried the ledger over: it went on from attempt 1's iteration 2 and spend.
    assert status["attempt"] == 2
    assert status["progress"]["currentIteration"] == 4
    assert status["cost"]["costUsd"] == "0.04"
    events = cluster.get_json(
        "events", "-n", namespace, "--field-selector", "reason=ProgressDeadlineExceeded"
    )["items"]
    messages = "\n".join(e["message"] for e in events)  # type: ignore[attr-defined]
    ended = set(re.findall(r"its pod (\S+) \(attempt (\d+)\) was deleted", messages))
    assert {attempt for _, attempt in ended} == {"1", "2"}, messages
    assert len({pod for pod, _ in ended}) == 2
    job = jobs_in(cluster, namespace)[0]
    assert job["status"]["failed"] == 2
    uid = failed["metadata"]["uid"]
    # Both hung pods were deleted (the dev runner SIGKILLs each after its grace period).
    selector = f"{labels.JOB_ID}={uid}"
    pods = lambda: cluster.get_json("pods", "-n", namespace, "-l", selector)["items"]  # noqa: E731
    wait_until(lambda: not pods(), 30, "the hung pods to be gone")


def test_a_cancel_grace_period_outlives_an_operator_restart(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    # A trainer that ignores the cancel (hang mode): only the operator's grace timer ends it.
    create_queries(cluster, namespace, "queries", addition_queries(125))
    runtime = {"progressDeadlineSeconds": 600}
    apply(cluster, namespace, trainingjob("deaf", queries="queries", mode="hang", runtime=runtime))
    wait_for_iteration(cluster, namespace, "deaf", 2)
    cancel = '{"spec": {"cancel": true}}'
    cluster.kubectl("patch", "tj", "deaf", "-n", namespace, "--type=merge", "-p", cancel)

    def requested() -> bool:
        return conditions_of(get(cluster, namespace, "deaf"))["Cancelled"]["reason"] == (
            "CancelRequested"
        )

    wait_until(requested, 30, "CancelRequested")
    operator.stop(kill=True)  # the grace timer (4 s) was only in its memory
    time.sleep(operator.cancel_grace_seconds + 1)
    operator.start()
    # The grace is counted from the durable CancelRequested condition: it is over already.
    cancelled = wait_for(cluster, namespace, "deaf", "Cancelled", timeout=30)
    assert cancelled["status"]["phase"] == "Cancelled"
    wait_until(lambda: not jobs_in(cluster, namespace), 30, "the Job to be deleted")
