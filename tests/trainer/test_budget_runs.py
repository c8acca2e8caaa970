"""Real (small) runs against random prices and budgets: never above the budget."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.trainer.loop import run_training
from tests.trainer.conftest import make_spec, options_for


class RecordingSink:
    cancel_requested = False

    def __init__(self) -> None:
        self.reports: list[ProgressReport] = []

    def publish(self, report: ProgressReport) -> None:
        self.reports.append(report)

    def close(self, final: ProgressReport, timeout_s: float) -> bool:
        self.reports.append(final)
        return True


def price(top: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(0), max_value=Decimal(top), places=6)


@settings(max_examples=4, deadline=None)
@given(
    budget=price("0.03"),
    per_hour=price("40"),
    per_1k_prompt=price("0.05"),
    per_1k_completion=price("0.05"),
)
@example(
    budget=Decimal("0.01"),
    per_hour=Decimal("1"),
    per_1k_prompt=Decimal("0.05"),
    per_1k_completion=Decimal("0.05"),
)
@example(
    budget=Decimal("0"), per_hour=Decimal(0), per_1k_prompt=Decimal(0), per_1k_completion=Decimal(0)
)
def test_runs_never_cost_more_than_the_budget(
    budget: Decimal, per_hour: Decimal, per_1k_prompt: Decimal, per_1k_completion: Decimal
) -> None:
    spec = make_spec(
        {"nIterations": 25, "checkpointInterval": 3, "maxBudgetUsd": str(budget)},
        pricing={
            "computeUsdPerHour": str(per_hour),
            "usdPer1kPromptTokens": str(per_1k_prompt),
            "usdPer1kCompletionTokens": str(per_1k_completion),
        },
    )
    with tempfile.TemporaryDirectory() as directory:
        sink = RecordingSink()
        result = run_training(options_for(Path(directory), spec), sink)
        sink.close(result.report, 0)
        for report in sink.reports:
            assert report.cost_usd <= budget
        for state_file in Path(directory, "ckpt").glob("ckpt-*/state.json"):
            ledger = json.loads(state_file.read_text())["ledger"]
            assert Decimal(ledger["spentUsd"]) <= budget
    assert result.ledger.spent <= budget
    if result.report.iteration < 25:
        assert result.state is ProgressState.BUDGET_EXHAUSTED
        assert result.reason == "BudgetExhausted"
        assert result.exit_code == 0
    else:
        assert result.state is ProgressState.COMPLETED
