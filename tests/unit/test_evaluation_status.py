"""status.evaluation's consequences: the Improved condition, and the termination summary."""

from __future__ import annotations

import json
from decimal import Decimal

from agentcore_training.api.contract import (
    TERMINATION_MESSAGE_MAX_BYTES,
    ProgressReport,
    ProgressState,
    TerminationSummary,
)
from agentcore_training.api.evaluation import EvaluationMetrics, EvaluationStatus
from agentcore_training.api.evaluation_spec import EvaluationMetric
from agentcore_training.api.status import ConditionStatus, Metrics
from agentcore_training.controller.evaluation import improved_condition
from agentcore_training.trainer.evaluation_book import EvaluationBook, Scores


def _metrics(rate: float) -> EvaluationMetrics:
    return EvaluationMetrics(
        success_rate=rate, mean_reward=rate, mean_steps=2.0, tool_calls_per_trajectory=1.0
    )


def _book(after: list[float]) -> EvaluationBook:
    book = EvaluationBook(metric=EvaluationMetric.SUCCESS_RATE, held_out_queries=25, binary=True)
    zeros = [0.0] * 25
    book.add(
        iteration=0,
        checkpoint_id="ckpt-000000",
        metrics=_metrics(0.0),
        scores=Scores(zeros, zeros),
        duration_ms=5,
        cost_usd=Decimal("0.001"),
    )
    rate = sum(after) / len(after)
    book.add(
        iteration=10,
        checkpoint_id="ckpt-000010",
        metrics=_metrics(rate),
        scores=Scores(after, after),
        duration_ms=5,
        cost_usd=Decimal("0.002"),
    )
    return book


def test_improved_is_true_when_the_best_beats_the_baseline_significantly() -> None:
    book = _book([1.0] * 6 + [0.0] * 19)  # McNemar b=6, c=0: p = 0.03125
    status = book.status()
    assert status.best is not None
    assert status.best.checkpoint_id == "ckpt-000010"
    assert status.best.comparison is not None
    assert status.best.comparison.p_value == 2 / 64
    verdict = improved_condition(status)
    assert verdict is not None
    assert verdict[:2] == (ConditionStatus.TRUE, "SignificantlyBetter")
    assert "0.0 % -> 24.0 %" in verdict[2]
    assert "p = 0.0312" in verdict[2]
    assert status.cost_usd == Decimal("0.003")


def test_improved_is_false_when_not_significant_or_not_better() -> None:
    verdict = improved_condition(_book([1.0] * 5 + [0.0] * 20).status())  # p = 0.0625
    assert verdict is not None
    assert verdict[:2] == (ConditionStatus.FALSE, "NotSignificant")
    worse = improved_condition(_book([0.0] * 25).status())
    assert worse is not None
    assert worse[:2] == (ConditionStatus.FALSE, "NoBetterThanBaseline")


def test_improved_waits_for_a_comparison_and_explains_an_evaluation_that_is_off() -> None:
    assert improved_condition(None) is None
    only_baseline = _book([0.0] * 25)
    only_baseline.latest = only_baseline.baseline
    only_baseline.best = only_baseline.baseline
    assert improved_condition(only_baseline.status()) is None
    off = EvaluationStatus(message="evaluation is off: no query is held out")
    verdict = improved_condition(off)
    assert verdict is not None
    assert verdict[:2] == (ConditionStatus.UNKNOWN, "NotEvaluated")


def test_the_book_round_trips_through_a_checkpoint() -> None:
    book = _book([1.0] * 6 + [0.0] * 19)
    again = EvaluationBook(metric=EvaluationMetric.SUCCESS_RATE, held_out_queries=25, binary=True)
    again.restore(json.loads(json.dumps(book.to_json())))
    assert again.status() == book.status()
    assert again.baseline_scores == book.baseline_scores
    assert again.dearest_usd == Decimal("0.002")


def test_the_termination_summary_keeps_the_evaluation_within_4_kib() -> None:
    book = _book([1.0] * 6 + [0.0] * 19)
    report = ProgressReport(
        iteration=10,
        total_iterations=10,
        state=ProgressState.COMPLETED,
        metrics=Metrics(avg_reward=0.5, loss=0.1, kl=0.01, entropy=1.2, tokens=12345),
        cost_usd=Decimal("0.01234567"),
        budget_usd=Decimal("10.00"),
        checkpoint_id="ckpt-000010",
        best_checkpoint_id="ckpt-000010",
        evaluation=book.status(),
        message="completed 10 iterations",
    )
    summary = TerminationSummary.of_report(report, reason="Completed", exit_code=0)
    data = summary.to_message()
    assert len(data) <= TERMINATION_MESSAGE_MAX_BYTES
    decoded = json.loads(data)
    assert "history" not in decoded["evaluation"]  # the pushes carry the curve
    back = TerminationSummary.from_message(data.decode())
    assert back is not None
    final = back.report()
    assert final is not None
    assert final.evaluation is not None
    assert final.evaluation.best == book.best
