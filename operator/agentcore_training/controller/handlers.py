"""kopf handlers: thin. Each watch event updates the cluster state and enqueues a reconcile.

Every handler is `async def`: kopf runs plain functions in executor threads, and the state
and the reconciler's asyncio queue may only be touched from the event loop.

Only event handlers are used, so kopf adds no finalizer (deletion is never blocked while the
operator is down) and keeps no handler progress in the objects.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import kopf

from agentcore_training import labels
from agentcore_training.api.resource import GROUP, PLURAL, VERSION
from agentcore_training.controller.operator import Operator
from agentcore_training.controller.settings import OperatorSettings

OPERATOR = "operator"
SETTINGS = "settings"


def memo_of(settings: OperatorSettings) -> kopf.Memo:
    """The root memo of `kopf.operator`: the settings, read once by `agentcore-operator`."""
    return kopf.Memo({SETTINGS: settings})


def _operator(memo: kopf.Memo) -> Operator:
    return cast(Operator, memo[OPERATOR])


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Our own Events say what happened; kopf's per-log-line Events would only add noise.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.batching.worker_limit = 64
    memo[OPERATOR] = await Operator.start(cast(OperatorSettings, memo[SETTINGS]))


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    operator = memo.get(OPERATOR)
    if isinstance(operator, Operator):
        await operator.stop()


@kopf.on.event(GROUP, VERSION, PLURAL)
async def trainingjob_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _operator(memo).on_trainingjob(event.get("type"), dict(event["object"]))


@kopf.on.event("batch", "v1", "jobs", labels={labels.MANAGED_BY: labels.MANAGER})
async def job_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _operator(memo).on_job(event.get("type"), dict(event["object"]))


@kopf.on.event(
    "",
    "v1",
    "pods",
    labels={labels.MANAGED_BY: labels.MANAGER, labels.COMPONENT: labels.TRAINER_COMPONENT},
)
async def pod_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _operator(memo).on_pod(event.get("type"), dict(event["object"]))
