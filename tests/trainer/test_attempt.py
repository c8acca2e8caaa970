"""The attempt handshake, trainer side: it learns the spend of the run before spending.

The operator's side runs in tests/integration; here a local server plays it (as in
test_progress.py), so the trainer CLI is the real one, in a subprocess.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

from agentcore_training.api.contract import EXIT_OK
from tests.trainer.conftest import cli_env, json_lines, make_spec, trainer_command, write_inputs
from tests.trainer.progress_server import Recorded, progress_server


def _args(directory: Path, url: str, checkpoints: Path) -> list[str]:
    spec_path = directory / "spec.json"
    queries_path = directory / "queries.jsonl"
    return [
        *trainer_command(),
        "--spec",
        str(spec_path),
        "--queries",
        str(queries_path),
        "--checkpoint-dir",
        str(checkpoints),
        "--progress-url",
        url,
        "--termination-log",
        str(directory / "termination-log"),
    ]


def _run(directory: Path, url: str, checkpoints: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _args(directory, url, checkpoints),
        env=cli_env(AGENTCORE_PROGRESS_INTERVAL_SECONDS="0.1", POD_NAME="pod-b"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_trainer_waits_for_the_operator_before_it_trains(tmp_path: Path) -> None:
    write_inputs(tmp_path, make_spec({"nIterations": 2}))
    recorded = Recorded(fail_attempts=3)
    with progress_server(recorded) as url:
        result = _run(tmp_path, url, tmp_path / "ckpt")
    assert result.returncode == EXIT_OK, result.stderr
    events = [line["event"] for line in json_lines(result.stdout)]
    assert events.count("attempt_handshake_waiting") == 3
    assert events.index("attempt") < events.index("start")  # nothing trained before it
    assert recorded.attempts_seen == 4


def test_the_spend_the_operator_recorded_is_carried_and_counts_against_the_budget(
    tmp_path: Path,
) -> None:
    """A retried pod without a checkpoint (an emptyDir lost) used to start at 0 USD and
    spend the whole budget again; now it starts from the operator's record."""
    write_inputs(
        tmp_path,
        make_spec(
            {"nIterations": 50, "maxBudgetUsd": "0.05"},
            pricing={"computeUsdPerHour": "0", "usdPer1kCompletionTokens": "0.1"},
        ),
    )
    recorded = Recorded(attempt={"attempt": 2, "costUsd": "0.04", "iteration": 7})
    with progress_server(recorded) as url:
        result = _run(tmp_path, url, tmp_path / "ckpt")
    assert result.returncode == EXIT_OK, result.stderr
    final = recorded.reports[-1]
    assert final["state"] == "budget_exhausted"
    assert Decimal(final["costUsd"]) >= Decimal("0.04")  # never less than recorded
    assert Decimal(final["costUsd"]) <= Decimal("0.05")
    assert final["iteration"] < 7  # no checkpoint survived: the count restarts
    first = recorded.reports[0]
    assert Decimal(first["costUsd"]) >= Decimal("0.04")


def test_sigkill_then_a_retry_with_an_empty_checkpoint_directory_keeps_the_budget(
    tmp_path: Path,
) -> None:
    """Pod A is SIGKILLed mid-run; pod B starts on an empty directory (an emptyDir) and
    asks the server, which answers from the last report it accepted from A."""
    budget = Decimal("0.05")
    write_inputs(
        tmp_path,
        make_spec(
            {"nIterations": 400, "checkpointInterval": 1000, "maxBudgetUsd": str(budget)},
            pricing={"computeUsdPerHour": "0", "usdPer1kCompletionTokens": "0.05"},
        ),
    )
    recorded = Recorded()
    with progress_server(recorded) as url:
        pod_a = subprocess.Popen(
            _args(tmp_path, url, tmp_path / "ckpt-a"),
            env=cli_env(AGENTCORE_PROGRESS_INTERVAL_SECONDS="0.05", POD_NAME="pod-a"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with recorded.lock:
                costs = [Decimal(r["costUsd"]) for r in recorded.reports]
            if costs and costs[-1] >= budget / 2:
                break
            time.sleep(0.05)
        pod_a.send_signal(signal.SIGKILL)
        pod_a.wait(timeout=30)
        with recorded.lock:
            last_a = recorded.reports[-1]
            recorded.attempt = {
                "attempt": 2,
                "costUsd": last_a["costUsd"],
                "iteration": last_a["iteration"],
            }
            count_a = len(recorded.reports)
        assert Decimal(last_a["costUsd"]) >= budget / 2
        result = _run(tmp_path, url, tmp_path / "ckpt-b")
    assert result.returncode == EXIT_OK, result.stderr
    reports_b = recorded.reports[count_a:]
    assert all(r["podName"] == "pod-b" for r in reports_b)
    final = reports_b[-1]
    assert final["state"] == "budget_exhausted"
    assert Decimal(final["costUsd"]) <= budget
    # B's own spend is on top of A's: the budget was not spent twice.
    assert Decimal(reports_b[0]["costUsd"]) >= Decimal(last_a["costUsd"])
    assert json.loads((tmp_path / "termination-log").read_text())["state"] == "budget_exhausted"


def test_waiting_for_an_operator_that_never_answers_stops_within_the_budget(
    tmp_path: Path,
) -> None:
    """Waiting is compute: a pod whose operator is away used to retry for ever, charging
    every second; now it ends BudgetExhausted before the wait could cross the budget."""
    write_inputs(
        tmp_path,
        make_spec({"nIterations": 2, "maxBudgetUsd": "3.00"}, pricing={"computeUsdPerHour": "360"}),
    )
    recorded = Recorded(fail_attempts=10**6)  # ten cents a second, an operator always 503
    with progress_server(recorded) as url:
        started = time.monotonic()
        result = subprocess.run(
            _args(tmp_path, url, tmp_path / "ckpt"),
            env=cli_env(POD_NAME="pod-b"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        wall = time.monotonic() - started
    assert result.returncode == EXIT_OK, result.stderr
    events = [line["event"] for line in json_lines(result.stdout)]
    assert "start" not in events  # never trained without the operator's answer
    assert "budget_spent_waiting_for_the_operator" in events
    summary = json.loads((tmp_path / "termination-log").read_text())
    assert summary["state"] == "budget_exhausted"
    assert summary["reason"] == "BudgetExhausted"
    assert Decimal(summary["costUsd"]) <= Decimal("3.00")
    assert recorded.attempts_seen >= 1
    assert wall < 30  # 3.00 USD at 0.10 USD/s
