"""The reconciler keeps a timer per job only while one is pending (no growth over jobs)."""

from __future__ import annotations

import asyncio

from kubernetes_asyncio.client import ApiClient, Configuration

from agentcore_training.controller.jobs import JobSettings
from agentcore_training.controller.reconciler import Reconciler
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import KubeClient

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
