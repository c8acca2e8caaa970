"""The operator's event plumbing: handlers on the event loop, and the periodic resync."""

from __future__ import annotations

import asyncio
import inspect

from agentcore_training.controller import handlers
from agentcore_training.controller.reconciler import Reconciler
from agentcore_training.controller.state import ClusterState


def test_every_watch_handler_runs_on_the_event_loop() -> None:
    # A plain def would run in kopf's executor threads and touch the asyncio queue there.
    for handler in (handlers.trainingjob_event, handlers.job_event, handlers.pod_event):
        assert inspect.iscoroutinefunction(handler), handler


class _Recording(Reconciler):
    def __init__(self, state: ClusterState, resync_seconds: float) -> None:
        super().__init__(
            None,  # type: ignore[arg-type]  # reconcile is replaced: no API call is made
            state,
            None,  # type: ignore[arg-type]
            cancel_grace_seconds=1,
            workers=2,
            resync_seconds=resync_seconds,
        )
        self.seen: list[str] = []

    async def reconcile(self, uid: str) -> None:
        self.seen.append(uid)


def test_the_resync_reconciles_a_job_whose_event_was_lost() -> None:
    async def scenario() -> list[str]:
        state = ClusterState()
        state.put_trainingjob({"metadata": {"uid": "u1", "resourceVersion": "1"}})
        reconciler = _Recording(state, resync_seconds=0.05)  # nothing enqueued "u1"
        reconciler.start()
        await asyncio.sleep(0.3)
        await reconciler.stop()
        return reconciler.seen

    seen = asyncio.run(scenario())
    assert seen.count("u1") >= 2


def test_no_resync_without_events_when_turned_off() -> None:
    async def scenario() -> list[str]:
        state = ClusterState()
        state.put_trainingjob({"metadata": {"uid": "u1", "resourceVersion": "1"}})
        reconciler = _Recording(state, resync_seconds=0)
        reconciler.start()
        await asyncio.sleep(0.2)
        await reconciler.stop()
        return reconciler.seen

    assert asyncio.run(scenario()) == []
