"""The cost ledger: exact Decimal pricing, the clamp, and the budget invariant (property)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.api.spec import PricingSpec
from agentcore_training.trainer.ledger import (
    QUANTUM,
    SAFETY_FACTOR,
    Ledger,
    Prices,
    Usage,
    price,
    quantize_up,
    seconds_decimal,
)

PRICES = Prices(
    compute_usd_per_hour=Decimal("3.60"),
    usd_per_1k_prompt_tokens=Decimal("0.001"),
    usd_per_1k_completion_tokens=Decimal("0.002"),
    usd_per_tool_call=Decimal("0.01"),
)


def test_pricing_is_exact_decimal() -> None:
    usage = Usage(seconds=Decimal("10"), prompt_tokens=1500, completion_tokens=500, tool_calls=2)
    breakdown = price(usage, PRICES)
    assert breakdown.compute == Decimal("0.01")  # 10 s at $3.60/h
    assert breakdown.prompt == Decimal("0.0015")
    assert breakdown.completion == Decimal("0.001")
    assert breakdown.tools == Decimal("0.02")
    assert breakdown.total == Decimal("0.03250000")


def test_amounts_round_up_to_the_wire_precision() -> None:
    assert quantize_up(Decimal("0.000000001")) == QUANTUM
    assert seconds_decimal(0.1) == Decimal("0.1")  # via repr: no binary noise
    assert seconds_decimal(-1.0) == Decimal("0.0")


def test_prices_come_from_the_spec() -> None:
    prices = Prices.from_spec(PricingSpec.model_validate({"usdPer1kPromptTokens": "0.5"}))
    assert prices.usd_per_1k_prompt_tokens == Decimal("0.5")
    assert prices.compute_usd_per_hour == Decimal("0.50")


def test_a_charge_above_the_remaining_budget_is_clamped_and_recorded() -> None:
    ledger = Ledger(budget=Decimal("0.02"))
    first = ledger.charge(Usage(prompt_tokens=10_000), PRICES, label="iteration", iteration=1)
    assert first.charged == Decimal("0.01")
    assert not first.clamped
    second = ledger.charge(Usage(prompt_tokens=30_000), PRICES, label="iteration", iteration=2)
    assert second.clamped
    assert second.actual == Decimal("0.03")
    assert second.charged == Decimal("0.01")
    assert ledger.spent == ledger.budget
    assert ledger.unbilled_usd == Decimal("0.02")
    (clamp,) = ledger.clamps
    assert clamp["label"] == "iteration"
    assert clamp["iteration"] == 2
    assert Decimal(str(clamp["actualUsd"])) == Decimal("0.03")
    assert Decimal(str(clamp["chargedUsd"])) == Decimal("0.01")
    assert ledger.max_iteration_usd == Decimal("0.03")  # the estimate sees the real cost


def test_the_estimate_is_cautious() -> None:
    ledger = Ledger(budget=Decimal("1"))
    assert ledger.next_iteration_estimate(prior=Decimal("0.1")) == Decimal("0.1") * SAFETY_FACTOR
    ledger.charge(Usage(prompt_tokens=1000), PRICES, label="iteration", iteration=1)
    ledger.charge(Usage(prompt_tokens=4000), PRICES, label="iteration", iteration=2)
    ledger.charge(Usage(prompt_tokens=2000), PRICES, label="iteration", iteration=3)
    assert ledger.next_iteration_estimate(prior=Decimal(0)) == Decimal("0.004") * SAFETY_FACTOR
    assert ledger.can_afford(Decimal("0.993"))
    assert not ledger.can_afford(Decimal("0.99300001"))


def test_json_round_trip() -> None:
    ledger = Ledger(budget=Decimal("0.05"))
    ledger.charge(
        Usage(seconds=Decimal("1.25"), prompt_tokens=7, completion_tokens=3, tool_calls=1),
        PRICES,
        label="iteration",
        iteration=1,
    )
    ledger.charge(Usage(prompt_tokens=100_000), PRICES, label="iteration", iteration=2)
    again = Ledger.from_json(ledger.to_json())
    assert again == ledger
    assert Decimal(again.to_json()["spentUsd"]) == Decimal("0.05")


def test_a_ledger_above_its_budget_is_refused() -> None:
    data = Ledger(budget=Decimal("1")).to_json()
    data["spentUsd"] = "1.5"
    with pytest.raises(ValueError, match="spent"):
        Ledger.from_json(data)


def test_a_report_above_the_budget_is_invalid() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        ProgressReport(
            iteration=1,
            total_iterations=2,
            state=ProgressState.RUNNING,
            cost_usd=Decimal("2"),
            budget_usd=Decimal("1"),
        )


money = st.decimals(
    min_value=Decimal(0), max_value=Decimal("5"), places=8, allow_nan=False, allow_infinity=False
)
usages = st.builds(
    Usage,
    seconds=st.decimals(min_value=Decimal(0), max_value=Decimal(3600), places=3),
    prompt_tokens=st.integers(0, 200_000),
    completion_tokens=st.integers(0, 200_000),
    tool_calls=st.integers(0, 50),
)


@settings(max_examples=300, deadline=None)
@given(
    budget=money,
    prices=st.builds(
        Prices,
        compute_usd_per_hour=money,
        usd_per_1k_prompt_tokens=money,
        usd_per_1k_completion_tokens=money,
        usd_per_tool_call=money,
    ),
    prior=money,
    usage_per_iteration=st.lists(usages, min_size=1, max_size=30),
    pending=st.lists(usages, min_size=30, max_size=30),
)
def test_property_cost_never_exceeds_budget(
    budget: Decimal,
    prices: Prices,
    prior: Decimal,
    usage_per_iteration: list[Usage],
    pending: list[Usage],
) -> None:
    """The loop's decisions, replayed on the pure ledger with arbitrary, even wild, costs.

    Whatever an iteration really costs (far above the estimate included), no report and no
    checkpoint shows more than the budget, and a run that stops early stops on the budget.
    """
    ledger = Ledger(budget=budget)
    stopped_by_budget = False
    done = 0
    for index, usage in enumerate(usage_per_iteration):
        waiting = price(pending[index], prices).total
        estimate = waiting + ledger.next_iteration_estimate(prior)
        if not ledger.can_afford(estimate):
            stopped_by_budget = True
            break
        ledger.charge(usage + pending[index], prices, label="iteration", iteration=index + 1)
        done += 1
        assert ledger.spent <= budget
        checkpoint = Ledger.from_json(ledger.to_json())  # what a checkpoint holds
        assert checkpoint.spent <= budget
        report = ProgressReport(  # validates cost <= budget itself
            iteration=done,
            total_iterations=len(usage_per_iteration),
            state=ProgressState.RUNNING,
            cost_usd=ledger.spent,
            budget_usd=ledger.budget,
        )
        assert report.budget_remaining_usd >= 0
    ledger.charge(pending[-1], prices, label="tail", iteration=done)
    assert ledger.spent <= budget
    if done < len(usage_per_iteration):
        assert stopped_by_budget
    assert ledger.spent + ledger.unbilled_usd >= ledger.spent
