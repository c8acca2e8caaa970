"""Progress pushing: the pusher against a local server, and cancel=true end to end."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from agentcore_training.api.contract import EXIT_OK, ProgressReport, ProgressState
from agentcore_training.trainer.progress import ProgressPusher
from tests.trainer.conftest import json_lines, make_spec, run_cli, write_inputs
from tests.trainer.progress_server import Recorded, progress_server


def report(iteration: int, state: ProgressState = ProgressState.RUNNING) -> ProgressReport:
    return ProgressReport(
        iteration=iteration,
        total_iterations=10,
        state=state,
        cost_usd=Decimal("0.01") * iteration,
        budget_usd=Decimal("1"),
    )


def test_pusher_retries_rereads_the_token_and_delivers_the_final_report(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    recorded = Recorded(fail_first=2)
    with progress_server(recorded) as url:
        pusher = ProgressPusher(url, token_file=token, interval_s=0.05)
        pusher.publish(report(1))
        deadline = time.monotonic() + 10
        while not recorded.reports and time.monotonic() < deadline:
            time.sleep(0.05)
        token.write_text("second\n")  # kubelet rotated the projected token
        for iteration in range(2, 6):
            pusher.publish(report(iteration))  # never blocks
        assert pusher.close(report(6, ProgressState.COMPLETED), timeout_s=10)
    assert pusher.failures == 2
    assert recorded.reports[0]["iteration"] == 1
    assert recorded.reports[-1]["state"] == "completed"
    assert recorded.reports[-1]["costUsd"] == "0.06"  # Money travels as a string
    assert recorded.authorizations[0] == "Bearer first"
    assert recorded.authorizations[-1] == "Bearer second"
    iterations = [r["iteration"] for r in recorded.reports]
    assert iterations == sorted(iterations)  # the newest report wins, never an older one


def test_an_unreachable_endpoint_never_blocks(tmp_path: Path) -> None:
    pusher = ProgressPusher("http://127.0.0.1:9/progress", interval_s=0.05)
    started = time.monotonic()
    for iteration in range(50):
        pusher.publish(report(iteration))
    assert time.monotonic() - started < 0.5
    assert not pusher.close(report(50, ProgressState.COMPLETED), timeout_s=0.5)


def test_cancel_true_checkpoints_and_exits_0_with_state_cancelled(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 5000, "checkpointInterval": 1000})
    spec_path, queries_path = write_inputs(tmp_path, spec)
    token = tmp_path / "token"
    token.write_text("s3cret")
    termination = tmp_path / "termination-log"
    recorded = Recorded(answer={"cancel": True})
    with progress_server(recorded) as url:
        started = time.monotonic()
        result = run_cli(
            [
                "--spec",
                str(spec_path),
                "--queries",
                str(queries_path),
                "--checkpoint-dir",
                str(tmp_path / "ckpt"),
                "--progress-url",
                url,
                "--token-file",
                str(token),
                "--termination-log",
                str(termination),
                "--job-id",
                "6f1c0a3e-0000-4000-8000-000000000001",
            ],
            POD_NAME="adder-trainer-x1",
            timeout=120,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == EXIT_OK, result.stderr
    assert elapsed < 60
    final = recorded.reports[-1]
    assert final["state"] == "cancelled"
    assert final["jobId"] == "6f1c0a3e-0000-4000-8000-000000000001"
    assert final["podName"] == "adder-trainer-x1"
    assert final["iteration"] < 5000
    assert set(recorded.authorizations) == {"Bearer s3cret"}
    for body in recorded.reports:
        ProgressReport.model_validate(body)  # every report is a valid, in-budget report
    summary = json.loads(termination.read_text())
    assert summary["state"] == "cancelled"
    assert summary["reason"] == "Cancelled"
    checkpoint = tmp_path / "ckpt" / summary["checkpointId"]
    assert (checkpoint / "state.json").is_file()
    state = json.loads((checkpoint / "state.json").read_text())
    assert state["state"] == "cancelled"
    assert state["iteration"] == final["iteration"]
    events = [line["event"] for line in json_lines(result.stdout)]
    assert events[-2:] == ["checkpoint", "finished"]
