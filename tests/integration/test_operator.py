"""The operator end to end on a real control plane, with the dev runner running its pods.

The trainer here is the stand-in (tests/support/stand_in_trainer.py): a small program that
speaks the real progress protocol with the pod's real projected token.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

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
STATUS_INTERVAL_S = 2.0  # the operator's default AGENTCORE_OPERATOR_STATUS_INTERVAL_SECONDS


def test_sample_runs_to_completion_with_progress_metrics_and_cost(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    created = apply(cluster, namespace, trainingjob("happy", queries="queries"))
    uid = created["metadata"]["uid"]

    job = wait_until(lambda: jobs_in(cluster, namespace), 30, "the Job to appear")[0]
    assert job["metadata"]["labels"][labels.JOB_ID] == uid
    assert job["metadata"]["ownerReferences"][0]["uid"] == uid
    assert job["metadata"]["ownerReferences"][0]["controller"] is True
    template = job["spec"]["template"]["spec"]
    container = template["containers"][0]
    assert template["automountServiceAccountToken"] is False
    assert template["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    token = next(v for v in template["volumes"] if v["name"] == "token")
    source = token["projected"]["sources"][0]["serviceAccountToken"]
    assert source["audience"] == labels.PROGRESS_TOKEN_AUDIENCE
    queries = next(v for v in template["volumes"] if v["name"] == "queries")
    assert queries["configMap"]["name"] == "queries"
    assert {"name": "queries", "mountPath": "/var/run/agentcore/queries", "readOnly": True} in (
        container["volumeMounts"]
    )

    done = wait_for(cluster, namespace, "happy", "Completed")
    status = done["status"]
    assert status["phase"] == "Completed"
    assert status["jobId"] == uid
    assert status["jobName"] == job["metadata"]["name"]
    assert status["progress"] == {
        "currentIteration": 5,
        "totalIterations": 5,
        "percentComplete": 100,
    }
    assert status["metrics"]["avgReward"] == pytest.approx(0.9)
    assert status["cost"] == {
        "costUsd": "0.05",
        "budgetUsd": "10.00",
        "budgetRemainingUsd": "9.95",
        "budgetStatus": "ok",
    }
    assert status["bestCheckpointId"] == "ckpt-00005"
    assert status["history"]["iterations"][-1] == 5
    assert status["startTime"]
    assert status["completionTime"]
    assert status["observedGeneration"] == 1
    conditions = conditions_of(done)
    assert conditions["Completed"]["status"] == "True"
    assert conditions["Running"]["status"] == "False"
    assert conditions["BudgetExhausted"]["status"] == "False"
    reasons = cluster.kubectl(
        "get",
        "events",
        "-n",
        namespace,
        "--field-selector",
        "involvedObject.name=happy",
        "-o",
        "jsonpath={.items[*].reason}",
    ).stdout.split()
    assert {"JobCreated", "TrainerRunning", "TrainingCompleted"} <= set(reasons)
    assert len(jobs_in(cluster, namespace)) == 1


def test_exhausted_backoff_fails_with_the_reason(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(
        cluster,
        namespace,
        trainingjob("flaky", queries="queries", mode="fail", runtime={"backoffLimit": 1}),
    )
    failed = wait_for(cluster, namespace, "flaky", "Failed")
    assert failed["status"]["phase"] == "Failed"
    condition = conditions_of(failed)["Failed"]
    assert condition["reason"] == "BackoffLimitExceeded"
    assert "exit code 1" in condition["message"]
    assert "stand-in failure: out of luck" in condition["message"]
    pods = cluster.get_json(
        "pods", "-n", namespace, "-l", f"{labels.JOB_ID}={failed['metadata']['uid']}"
    )
    assert len(pods["items"]) == 2  # type: ignore[arg-type]  # the first try and one retry


def test_bad_input_fails_at_once_without_retries(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(
        cluster,
        namespace,
        trainingjob("bad", queries="queries", mode="bad-input", runtime={"backoffLimit": 3}),
    )
    failed = wait_for(cluster, namespace, "bad", "Failed")
    assert conditions_of(failed)["Failed"]["reason"] == "PodFailurePolicy"
    pods = cluster.get_json(
        "pods", "-n", namespace, "-l", f"{labels.JOB_ID}={failed['metadata']['uid']}"
    )
    assert len(pods["items"]) == 1  # type: ignore[arg-type]


def test_budget_exhausted_completes_with_the_condition(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(
        cluster,
        namespace,
        trainingjob(
            "thrifty",
            queries="queries",
            mode="budget",
            config={"nIterations": 50, "maxBudgetUsd": "0.03"},
        ),
    )
    done = wait_for(cluster, namespace, "thrifty", "BudgetExhausted")
    assert done["status"]["phase"] == "Completed"
    assert conditions_of(done)["Completed"]["reason"] == "BudgetExhausted"
    assert Decimal(done["status"]["cost"]["costUsd"]) <= Decimal("0.03")


def test_termination_message_completes_a_lost_final_report(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(
        cluster,
        namespace,
        trainingjob("lossy", queries="queries", mode="lost-final", config={"nIterations": 3}),
    )
    done = wait_for(cluster, namespace, "lossy", "Completed")
    assert done["status"]["progress"]["currentIteration"] == 3
    assert done["status"]["cost"]["costUsd"] == "0.03"


def test_cancel_mid_run_stops_the_trainer_and_deletes_the_job(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(
        cluster,
        namespace,
        trainingjob("stop-me", queries="queries", mode="slow", config={"nIterations": 200}),
    )
    wait_for_iteration(cluster, namespace, "stop-me", 2)
    cluster.kubectl(
        "patch",
        "tj",
        "stop-me",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"cancel": true}}',
    )
    cancelled = wait_for(cluster, namespace, "stop-me", "Cancelled")
    assert cancelled["status"]["phase"] == "Cancelled"
    assert cancelled["status"]["cancelledAt"]
    assert cancelled["status"]["progress"]["currentIteration"] < 200
    wait_until(lambda: not jobs_in(cluster, namespace), 30, "the Job to be deleted")
    # Cancelling again, or a finished job, changes nothing.
    before = get(cluster, namespace, "stop-me")["status"]
    cluster.kubectl(
        "patch",
        "tj",
        "stop-me",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"suspend": true}}',
    )
    assert get(cluster, namespace, "stop-me")["status"]["phase"] == before["phase"]


def test_suspend_and_resume(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(cluster, namespace, trainingjob("pausable", queries="queries", suspend=True))
    suspended = wait_for(cluster, namespace, "pausable", "Suspended")
    assert suspended["status"]["phase"] == "Queued"
    job = wait_until(lambda: jobs_in(cluster, namespace), 30, "the Job")[0]
    assert job["spec"]["suspend"] is True
    cluster.kubectl(
        "patch",
        "tj",
        "pausable",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"suspend": false}}',
    )
    done = wait_for(cluster, namespace, "pausable", "Completed")
    assert conditions_of(done)["Suspended"]["status"] == "False"


def test_operator_restart_mid_run_keeps_one_job_and_updates_status(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    apply(
        cluster,
        namespace,
        trainingjob("survivor", queries="queries", mode="slow", config={"nIterations": 16}),
    )
    wait_for_iteration(cluster, namespace, "survivor", 2)
    operator.stop(kill=True)
    operator.start()
    done = wait_for(cluster, namespace, "survivor", "Completed", timeout=120)
    assert done["status"]["progress"]["currentIteration"] == 16
    assert len(jobs_in(cluster, namespace)) == 1


def test_deleting_a_trainingjob_removes_its_job_and_queries(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "doomed-queries", addition_queries(125))
    created = apply(
        cluster,
        namespace,
        trainingjob("doomed", queries="doomed-queries", mode="slow", config={"nIterations": 200}),
    )
    owner = {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "name": "doomed",
        "uid": created["metadata"]["uid"],
    }
    cluster.kubectl(
        "patch",
        "configmap",
        "doomed-queries",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"metadata": {"ownerReferences": [owner]}}),
    )
    wait_until(lambda: jobs_in(cluster, namespace), 30, "the Job")
    cluster.kubectl("delete", "tj", "doomed", "-n", namespace, "--wait=true", timeout=60)
    wait_until(lambda: not jobs_in(cluster, namespace), 60, "the Job to be collected")
    wait_until(
        lambda: cluster.kubectl(
            "get", "configmap", "doomed-queries", "-n", namespace, check=False
        ).returncode
        != 0,
        60,
        "the queries ConfigMap to be collected",
    )


def test_webhook_warns_of_a_learning_rate_a_pretrained_model_does_not_tolerate(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "q-lr", addition_queries(124))

    def dry_run(name: str, rate: float, **policy: Any) -> str:
        manifest = trainingjob(
            name,
            queries="q-lr",
            config={"learningRate": rate},
            policy={"model": "hf:/models/SmolLM2-135M-Instruct", **policy},
        )
        result = cluster.kubectl(
            "create", "--dry-run=server", "-n", namespace, "-f", "-", stdin=json.dumps(manifest)
        )
        return result.stderr

    warned = dry_run("lr-full", 1e-3)  # admitted (dry run), with kubectl's "Warning:" line
    assert "Warning: spec.config.learningRate 0.001 is above 0.0001" in warned, warned
    assert "Warning" not in dry_run("lr-lora", 1e-3, lora={"rank": 8})  # LoRA tolerates it
    assert "Warning" not in dry_run("lr-ok", 1e-5)


def test_webhook_denies_bad_queries_and_admits_100_to_train_on(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "q123", addition_queries(123))
    create_queries(cluster, namespace, "q124", addition_queries(124))
    create_queries(cluster, namespace, "broken", addition_queries(100) + "{not json\n")
    cases = {
        # The default 20 % held-out split: 24 of 123 held out leaves 99 to train on.
        "q123": "holds 123 queries; holding out 24 for evaluation "
        "(spec.evaluation.heldOutFraction 0.2) leaves 99 training queries, and at least 100 "
        "are required",
        "missing": 'ConfigMap "missing" not found in namespace',
        "broken": "line 101 is not valid JSON",
    }
    for queries, expected in cases.items():
        result = cluster.kubectl(
            "apply",
            "-n",
            namespace,
            "-f",
            "-",
            stdin=json.dumps(trainingjob(f"deny-{queries}", queries=queries)),
            check=False,
        )
        assert result.returncode != 0
        assert "spec.queries.configMapRef" in result.stderr
        assert expected in result.stderr, result.stderr
    apply(cluster, namespace, trainingjob("admit-100", queries="q124"))


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
