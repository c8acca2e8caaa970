"""ProgressService against a real apiserver: reports become status, and what it keeps for a
job goes when the job's last report is written, when the job is finished, or gone.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.controller.progress import Refusal
from agentcore_training.controller.server import ProgressService
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import KubeClient
from tests.support.cluster import Cluster
from tests.support.trainingjobs import trainingjob


def _create(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    manifest = trainingjob(name, queries="q")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))
    return cluster.get_json("trainingjob", name, "-n", namespace)


def _report(uid: str, iteration: int, state: ProgressState) -> ProgressReport:
    return ProgressReport(
        job_id=uid,
        iteration=iteration,
        total_iterations=5,
        state=state,
        cost_usd=Decimal("0.01") * iteration,
        budget_usd=Decimal("10.00"),
    )


async def _written(service: ProgressService, uid: str) -> None:
    writer = service._jobs[uid].writer
    assert writer is not None
    await writer


async def test_a_job_is_kept_only_while_it_reports(cluster: Cluster, namespace: str) -> None:
    state = ClusterState()
    async with await KubeClient.connect(str(cluster.kubeconfig)) as client:
        service = ProgressService(client, state, interval=0.0)
        first = _create(cluster, namespace, "reports")
        uid = state.put_trainingjob(first)

        assert service.accept(uid, _report(uid, 2, ProgressState.RUNNING)) is False
        await _written(service, uid)
        stored = cluster.get_json("trainingjob", "reports", "-n", namespace)
        assert stored["status"]["progress"]["currentIteration"] == 2  # type: ignore[index]

        assert service.accept(uid, _report(uid, 5, ProgressState.COMPLETED)) is False
        await _written(service, uid)
        assert uid not in service._jobs  # the last report is written: nothing kept
        stored = cluster.get_json("trainingjob", "reports", "-n", namespace)
        assert stored["status"]["progress"]["currentIteration"] == 5  # type: ignore[index]

        # A later report (another attempt) starts again from the written status.
        went_down = service.accept(uid, _report(uid, 4, ProgressState.RUNNING))
        assert isinstance(went_down, Refusal)
        assert went_down.http_status == 409

        finished = {**stored, "status": {**stored["status"], "phase": "Completed"}}  # type: ignore[dict-item]
        state.put_trainingjob(finished)
        refused = service.accept(uid, _report(uid, 5, ProgressState.RUNNING))
        assert isinstance(refused, Refusal)
        assert refused.http_status == 409
        assert uid not in service._jobs

        other = state.put_trainingjob(_create(cluster, namespace, "deleted"))
        assert service.accept(other, _report(other, 1, ProgressState.RUNNING)) is False
        await _written(service, other)
        assert other in service._jobs
        state.forget_trainingjob(other)
        service.forget(other)
        assert service._jobs == {}
        gone = service.accept(other, _report(other, 2, ProgressState.RUNNING))
        assert isinstance(gone, Refusal)
        assert gone.http_status == 404
        assert service._jobs == {}
