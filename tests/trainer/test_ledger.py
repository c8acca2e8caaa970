"""The cost ledger: exact Decimal pricing, no clamp: every charge in full (property)."""

from __future__ import annotations

from decimal import Decimal

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


def test_a_charge_above_the_remaining_budget_is_recorded_in_full() -> None:
    """No clamp: an overrun is on the ledger and visible (the old ledger hid it)."""
    ledger = Ledger(budget=Decimal("0.02"))
    first = ledger.charge(Usage(prompt_tokens=10_000), PRICES, label="iteration", iteration=1)
    assert first.cost == Decimal("0.01")
    assert ledger.overrun_usd == 0
    second = ledger.charge(Usage(prompt_tokens=30_000), PRICES, label="iteration", iteration=2)
    assert second.cost == Decimal("0.03")
    assert ledger.spent == Decimal("0.04")
    assert ledger.overrun_usd == Decimal("0.02")
    assert ledger.remaining == Decimal("-0.02")
    assert Decimal(ledger.to_json()["overrunUsd"]) == Decimal("0.02")
    assert Ledger.from_json(ledger.to_json()).spent == Decimal("0.04")


def test_carry_over_raises_the_spend_never_lowers_it() -> None:
    ledger = Ledger(budget=Decimal("1"))
    ledger.charge(Usage(prompt_tokens=10_000), PRICES, label="iteration", iteration=1)
    assert ledger.carry_over(Decimal("0.005")) == 0
    assert ledger.spent == Decimal("0.01")
    assert ledger.carry_over(Decimal("0.25")) == Decimal("0.24")
    assert ledger.spent == Decimal("0.25")
    assert ledger.carried_usd == Decimal("0.24")
    again = Ledger.from_json(ledger.to_json())
    assert (again.spent, again.carried_usd) == (Decimal("0.25"), Decimal("0.24"))


def test_an_old_checkpoints_unbilled_spend_counts_as_spent() -> None:
    data = Ledger(budget=Decimal("1"), spent=Decimal("1")).to_json()
    data["unbilledUsd"] = "0.3"
    ledger = Ledger.from_json(data)
    assert ledger.spent == Decimal("1.3")
    assert ledger.overrun_usd == Decimal("0.3")


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
    # 1.25 s at $3.60/h, 7 + 100000 prompt, 3 completion tokens and a tool call: all of it.
    assert Decimal(again.to_json()["spentUsd"]) == Decimal("0.11126300")


def test_a_report_above_the_budget_shows_the_true_cost() -> None:
    report = ProgressReport(
        iteration=1,
        total_iterations=2,
        state=ProgressState.RUNNING,
        cost_usd=Decimal("2"),
        budget_usd=Decimal("1"),
    )
    assert report.cost_usd == Decimal("2")
    assert report.overrun_usd == Decimal("1")
    assert report.budget_remaining_usd == 0


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
def test_property_the_ledger_holds_every_charge(
    budget: Decimal,
    prices: Prices,
    prior: Decimal,
    usage_per_iteration: list[Usage],
    pending: list[Usage],
) -> None:
    """The loop's decisions, replayed on the pure ledger with arbitrary, even wild, costs.

    The ledger is the sum of every charge, whatever the budget; a checkpoint holds the same;
    a run stops only on the budget check, and the check never lets an iteration start whose
    estimate does not fit. (Whether the estimate is right is the real runs' test.)
    """
    ledger = Ledger(budget=budget)
    total = Decimal(0)
    done = 0
    for index, usage in enumerate(usage_per_iteration):
        waiting = price(pending[index], prices).total
        estimate = waiting + ledger.next_iteration_estimate(prior)
        if not ledger.can_afford(estimate):
            assert ledger.spent + estimate > budget
            break
        charge = ledger.charge(
            usage + pending[index], prices, label="iteration", iteration=index + 1
        )
        assert charge.cost == price(usage + pending[index], prices).total
        total += charge.cost
        done += 1
        assert ledger.spent == total
        assert Ledger.from_json(ledger.to_json()).spent == total
        assert ledger.overrun_usd == max(Decimal(0), total - budget)
    total += ledger.charge(pending[-1], prices, label="tail", iteration=done).cost
    assert ledger.spent == total
