"""A stand-in trainer for the operator's tests: it speaks the real progress protocol.

The dev runner starts it for trainer pods whose image is `stand-in.test/trainer:<mode>`
(see trainer_entry.py); it pushes ProgressReports to the operator's real endpoint with the
pod's real projected token, answers cancel, writes a termination summary, and exits with
the trainer's documented codes. Modes: complete, fail, bad-input, slow, budget, lost-final,
and hang: the attempt handshake, two reports from where the run stands, then silence, deaf
to SIGTERM (as a trainer stuck in a native call), until the pod is killed.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

from agentcore_training.api.contract import (
    ATTEMPT_PATH_SUFFIX,
    AttemptAnswer,
    AttemptRequest,
    ProgressReport,
    ProgressState,
)
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.api.status import Metrics


def _request(body: bytes, suffix: str = "") -> urllib.request.Request:
    url = os.environ["AGENTCORE_PROGRESS_URL"] + suffix
    token = Path(os.environ["AGENTCORE_TOKEN_FILE"]).read_text().strip()
    return urllib.request.Request(  # noqa: S310 - the operator's https URL
        url,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )


def _attempt() -> AttemptAnswer:
    """The attempt handshake, retried until the operator answers (as the trainer does)."""
    context = ssl.create_default_context(cadata=os.environ["AGENTCORE_PROGRESS_CA_PEM"])
    asked = AttemptRequest(job_id=os.environ["AGENTCORE_JOB_ID"], pod_name=os.environ["POD_NAME"])
    while True:
        request = _request(json.dumps(asked.to_wire()).encode(), ATTEMPT_PATH_SUFFIX)
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
                return AttemptAnswer.model_validate_json(answer.read())
        except OSError as error:
            print(f"attempt handshake failed: {error}", flush=True)
            time.sleep(0.5)


def _push(report: ProgressReport) -> dict[str, object]:
    context = ssl.create_default_context(cadata=os.environ["AGENTCORE_PROGRESS_CA_PEM"])
    request = _request(report.model_dump_json(by_alias=True, exclude_none=True).encode())
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
            decoded: dict[str, object] = json.loads(answer.read())
            return decoded
    except urllib.error.HTTPError as error:
        print(f"report refused: {error.code} {error.read()!r}", flush=True)
        return {}
    except OSError as error:  # the operator may be restarting: go on, as the trainer does
        print(f"report not delivered: {error}", flush=True)
        return {}


def _finish(report: ProgressReport, code: int) -> None:
    path = Path(os.environ.get("AGENTCORE_TERMINATION_LOG", "/dev/termination-log"))
    path.write_text(report.model_dump_json(by_alias=True, exclude_none=True))
    sys.exit(code)


def main(mode: str) -> None:
    spec = TrainingJobSpec.model_validate_json(os.environ["AGENTCORE_SPEC"])
    total = spec.config.n_iterations
    budget = spec.config.max_budget_usd
    step_cost = Decimal("0.01")
    interval = 0.5 if mode == "slow" else 0.2

    def report(iteration: int, state: ProgressState, message: str | None = None) -> ProgressReport:
        return ProgressReport(
            job_id=os.environ["AGENTCORE_JOB_ID"],
            pod_name=os.environ.get("POD_NAME"),
            iteration=iteration,
            total_iterations=total,
            state=state,
            metrics=Metrics(avg_reward=0.1 + 0.8 * iteration / total, loss=1.0 / (1 + iteration)),
            cost_usd=step_cost * iteration,
            budget_usd=budget,
            best_checkpoint_id=f"ckpt-{iteration:05d}" if iteration else None,
            message=message,
        )

    if mode == "fail":
        _finish(report(0, ProgressState.FAILED, "stand-in failure: out of luck"), 1)
    if mode == "bad-input":
        _finish(report(0, ProgressState.FAILED, "bad input: the queries are wrong"), 2)
    if mode == "hang":
        start = _attempt().iteration
        for iteration in range(start + 1, start + 3):
            time.sleep(interval)
            _push(report(iteration, ProgressState.RUNNING))
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("hanging", flush=True)
        while True:
            time.sleep(3600)
    for iteration in range(1, total + 1):
        if mode == "budget" and step_cost * (iteration + 1) > budget:
            _finish(report(iteration, ProgressState.BUDGET_EXHAUSTED, "BudgetExhausted"), 0)
        time.sleep(interval)
        answer = _push(report(iteration, ProgressState.RUNNING))
        if answer.get("cancel"):
            final = report(iteration, ProgressState.CANCELLED, "cancelled")
            _push(final)
            _finish(final, 0)
    final = report(total, ProgressState.COMPLETED, "done")
    if mode != "lost-final":
        _push(final)
    _finish(final, 0)


if __name__ == "__main__":
    main(sys.argv[1])
