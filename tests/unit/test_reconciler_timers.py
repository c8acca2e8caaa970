"""The reconciler keeps a timer per job only while one is pending (no growth over jobs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kubernetes_asyncio.client import ApiClient, Configuration

from agentcore_training import labels
from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.api.status import Metrics
from agentcore_training.controller.jobs import TRAINER_CONTAINER, JobSettings
from agentcore_training.controller.reconciler import Reconciler
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import KubeClient

UID = "6f1c1b8e-0000-4000-8000-000000000001"
SETTINGS = JobSettings(
    progress_url="https://127.0.0.1:1/progress",
    progress_ca_pem=None,
    service_account="default",
    command=("true",),
    termination_grace_seconds=1,
)


async def test_a_fired_timer_is_dropped_and_a_forgotten_job_cancels_its_own() -> None:
    # No worker runs and nothing reaches an apiserver: only the queue and the timers move.
    async with KubeClient(ApiClient(Configuration(host="http://127.0.0.1:1"))) as client:
        reconciler = Reconciler(client, ClusterState(), SETTINGS, cancel_grace_seconds=1)
        reconciler.enqueue_after("fired", 0.01)
        reconciler.enqueue_after("deleted", 60)
        assert set(reconciler._timers) == {"fired", "deleted"}
        await asyncio.sleep(0.1)
        assert set(reconciler._timers) == {"deleted"}
        assert reconciler._queue.get_nowait() == "fired"
        timer = reconciler._timers["deleted"]
        reconciler.forget("deleted")
        assert reconciler._timers == {}
        assert timer.cancelled()
        await reconciler.reconcile("gone")  # a job the state no longer holds leaves nothing
        assert reconciler._timers == {}


class _ApiWithThePod(KubeClient):
    """Answers the pod list with the finished trainer pod the watch has not delivered yet;
    records the status patches (a narrow fake of one error path)."""

    def __init__(self, pod: dict[str, Any]) -> None:
        super().__init__(ApiClient(Configuration(host="http://127.0.0.1:1")))
        self.pod = pod
        self.lists: list[tuple[str, dict[str, Any]]] = []
        self.patches: list[dict[str, Any]] = []

    async def get(self, path: str, **query: str | int | bool) -> dict[str, Any]:
        self.lists.append((path, dict(query)))
        return {"apiVersion": "v1", "kind": "PodList", "items": [self.pod]}

    async def patch(self, path: str, body: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        self.patches.append(dict(body))
        return {"metadata": {"uid": UID, "resourceVersion": "99"}, **body}


async def test_a_finished_job_whose_pod_the_watch_has_not_delivered_reads_the_pod() -> None:
    """After a restart kopf lists Jobs and Pods apart: a Complete Job seen before its pod
    used to end the run as FinalSummaryLost with cost 0 (found by the soak)."""
    summary = ProgressReport(
        iteration=20,
        total_iterations=20,
        state=ProgressState.COMPLETED,
        metrics=Metrics(avg_reward=0.5),
        cost_usd=Decimal("0.0123"),
        budget_usd=Decimal("10.00"),
    ).model_dump_json(by_alias=True)
    job_labels = {labels.JOB_ID: UID}
    pod = {
        "metadata": {"name": "run-1-abcde", "namespace": "ns", "labels": job_labels},
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [
                {
                    "name": TRAINER_CONTAINER,
                    "state": {"terminated": {"exitCode": 0, "message": summary}},
                }
            ],
        },
    }
    state = ClusterState()
    state.put_trainingjob(
        {
            "metadata": {"name": "run", "namespace": "ns", "uid": UID, "generation": 1},
            "spec": {"agentId": "a", "queries": {"configMapRef": {"name": "q"}}},
            "status": {"phase": "Running", "jobName": "run-1", "jobId": UID},
        }
    )
    state.put_job(
        {
            "metadata": {"name": "run-1", "uid": "job-uid", "labels": job_labels},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]},
        }
    )
    async with _ApiWithThePod(pod) as client:
        reconciler = Reconciler(client, state, SETTINGS, cancel_grace_seconds=1)
        await reconciler.reconcile(UID)
    assert client.lists == [
        ("/api/v1/namespaces/ns/pods", {"labelSelector": f"{labels.JOB_ID}={UID}"})
    ]
    status = client.patches[-1]["status"]
    assert status["phase"] == "Completed"
    assert status["cost"]["costUsd"] == "0.0123"
    assert "FinalSummaryLost" not in json.dumps(status)
