"""The trainer's termination summary, as the trainer writes it, read by the operator's parser.

Both ends use api/contract.py; these runs check that what one side writes is what the
other reads, field by field, for a finished run and for a run refused for bad input.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from agentcore_training.api.contract import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    ProgressState,
    TerminationSummary,
)
from agentcore_training.api.status import Metrics
from agentcore_training.controller.progress import parse_summary, summary_text
from tests.trainer.conftest import addition_queries, make_spec, run_cli, write_inputs


def _run(tmp_path: Path, spec: dict[str, object], queries: list[dict[str, object]]) -> str:
    spec_path, queries_path = write_inputs(tmp_path, spec, queries)
    termination = tmp_path / "termination-log"
    result = run_cli(
        [
            "--spec",
            str(spec_path),
            "--queries",
            str(queries_path),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
            "--termination-log",
            str(termination),
        ],
        timeout=120,
    )
    assert termination.is_file(), result.stderr
    return termination.read_text()


def test_a_finished_run_round_trips_through_the_operators_parser(tmp_path: Path) -> None:
    message = _run(tmp_path, make_spec({"nIterations": 2}), addition_queries(8))
    written = json.loads(message)
    assert written["reason"] == "Completed"
    assert written["exitCode"] == EXIT_OK

    report = parse_summary(message)
    assert report is not None
    assert report.state == ProgressState.COMPLETED
    assert report.iteration == written["iteration"] == 2
    assert report.total_iterations == written["totalIterations"] == 2
    assert report.cost_usd == Decimal(written["costUsd"])
    assert report.budget_usd == Decimal("10.00")
    assert report.checkpoint_id == written["checkpointId"] == "ckpt-000002"
    assert report.best_checkpoint_id == written["bestCheckpointId"]
    assert report.metrics.to_wire() == written["metrics"]
    assert report.metrics.avg_reward is not None
    assert report.message == written["message"]
    assert summary_text(message) == written["message"]


def test_a_bad_input_summary_is_no_report_but_says_why(tmp_path: Path) -> None:
    message = _run(tmp_path, make_spec(reward={"type": "bogus"}), addition_queries(8))
    summary = TerminationSummary.from_message(message)
    assert summary is not None
    assert summary.state == ProgressState.FAILED
    assert summary.reason == "BadInput"
    assert summary.exit_code == EXIT_BAD_INPUT
    assert parse_summary(message) is None
    assert "reward.type" in summary_text(message)


def test_a_trimmed_summary_still_parses() -> None:
    summary = TerminationSummary(
        state=ProgressState.BUDGET_EXHAUSTED,
        reason="BudgetExhausted",
        exit_code=EXIT_OK,
        iteration=3,
        total_iterations=10,
        cost_usd=Decimal("0.5"),
        budget_usd=Decimal("1"),
        metrics=Metrics(avg_reward=0.25),
        message="x" * 5000,
    )
    message = summary.to_message().decode()
    assert len(message) <= 4096
    report = parse_summary(message)
    assert report is not None
    assert report.iteration == 3
    assert report.message == "x" * 1000
