"""The cost ledger: money in Decimal, never float. Pure: no I/O, no torch.

Prices come from spec.pricing. Each charge prices measured usage (wall-clock seconds,
prompt and completion tokens, tool calls), rounded *up* to 1e-8 USD (the wire's precision),
and puts all of it on the ledger: the ledger records what was spent, never less. The budget
is kept by stopping in time (`can_afford` before every piece of work, see `budget.py`), not
by writing down less; if a charge ever takes the ledger above the budget, `overrun_usd`
says by how much and every report shows the true cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from agentcore_training.api.spec import PricingSpec

QUANTUM = Decimal("0.00000001")
"""1e-8 USD: the finest amount the wire's Money type carries."""
SAFETY_FACTOR = Decimal("1.5")
"""The next iteration is assumed to cost up to this times the dearest one so far."""
_SECONDS_PER_HOUR = Decimal(3600)
_THOUSAND = Decimal(1000)


def quantize_up(amount: Decimal) -> Decimal:
    """Round up to the wire's precision: never under-charge by rounding."""
    return amount.quantize(QUANTUM, rounding=ROUND_CEILING)


def seconds_decimal(seconds: float) -> Decimal:
    """A float duration as a Decimal via its shortest repr (no binary noise digits)."""
    return Decimal(repr(max(0.0, float(seconds))))


@dataclass(frozen=True)
class Prices:
    """spec.pricing, in Decimal."""

    compute_usd_per_hour: Decimal = Decimal(0)
    usd_per_1k_prompt_tokens: Decimal = Decimal(0)
    usd_per_1k_completion_tokens: Decimal = Decimal(0)
    usd_per_tool_call: Decimal = Decimal(0)

    @classmethod
    def from_spec(cls, pricing: PricingSpec, processes: int = 1) -> Prices:
        """spec.pricing for a run of `processes` data-parallel processes: compute is
        priced per process (N processes for an hour are N hours), tokens and tool calls
        once each, whichever rank used them."""
        return cls(
            compute_usd_per_hour=pricing.compute_usd_per_hour * processes,
            usd_per_1k_prompt_tokens=pricing.usd_per_1k_prompt_tokens,
            usd_per_1k_completion_tokens=pricing.usd_per_1k_completion_tokens,
            usd_per_tool_call=pricing.usd_per_tool_call,
        )


@dataclass(frozen=True)
class Usage:
    """What one piece of work used."""

    seconds: Decimal = Decimal(0)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            seconds=self.seconds + other.seconds,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            tool_calls=self.tool_calls + other.tool_calls,
        )


@dataclass(frozen=True)
class PriceBreakdown:
    compute: Decimal
    prompt: Decimal
    completion: Decimal
    tools: Decimal

    @property
    def total(self) -> Decimal:
        return quantize_up(self.compute + self.prompt + self.completion + self.tools)


def price(usage: Usage, prices: Prices) -> PriceBreakdown:
    """The exact price of `usage` (the total is rounded up to 1e-8 USD)."""
    return PriceBreakdown(
        compute=usage.seconds * prices.compute_usd_per_hour / _SECONDS_PER_HOUR,
        prompt=Decimal(usage.prompt_tokens) * prices.usd_per_1k_prompt_tokens / _THOUSAND,
        completion=Decimal(usage.completion_tokens)
        * prices.usd_per_1k_completion_tokens
        / _THOUSAND,
        tools=Decimal(usage.tool_calls) * prices.usd_per_tool_call,
    )


@dataclass(frozen=True)
class Charge:
    """One charge: what it cost (all of it is on the ledger)."""

    label: str
    iteration: int
    cost: Decimal


@dataclass
class Ledger:
    """Money spent against a budget. Serialisable to JSON (Decimals as strings)."""

    budget: Decimal
    spent: Decimal = Decimal(0)
    usage: Usage = field(default_factory=Usage)
    compute_usd: Decimal = Decimal(0)
    prompt_tokens_usd: Decimal = Decimal(0)
    completion_tokens_usd: Decimal = Decimal(0)
    tool_calls_usd: Decimal = Decimal(0)
    carried_usd: Decimal = Decimal(0)
    """Spend of earlier attempts that this ledger learnt from the operator (the ledger of
    record) rather than from its own charges: the breakdown above does not include it."""
    max_iteration_usd: Decimal | None = None
    """The dearest iteration so far."""
    iterations_charged: int = 0

    @property
    def remaining(self) -> Decimal:
        """What is left of the budget; negative after an overrun."""
        return self.budget - self.spent

    @property
    def overrun_usd(self) -> Decimal:
        """How far the spend went above the budget (0 when it held)."""
        return max(Decimal(0), self.spent - self.budget)

    def can_afford(self, estimate: Decimal) -> bool:
        """Whether spent + estimate stays within the budget."""
        return self.spent + estimate <= self.budget

    def next_iteration_estimate(self, prior: Decimal) -> Decimal:
        """A cautious estimate of the next iteration.

        SAFETY_FACTOR times the dearest iteration so far; before the first one, times
        `prior` (the loop's estimate from token counts and a timed probe).
        """
        basis = self.max_iteration_usd if self.max_iteration_usd is not None else prior
        return quantize_up(basis * SAFETY_FACTOR)

    def charge(self, usage: Usage, prices: Prices, *, label: str, iteration: int) -> Charge:
        """Put `usage` on the ledger: all of it, whatever the budget says."""
        breakdown = price(usage, prices)
        cost = breakdown.total
        self.spent += cost
        self.usage = self.usage + usage
        self.compute_usd += breakdown.compute
        self.prompt_tokens_usd += breakdown.prompt
        self.completion_tokens_usd += breakdown.completion
        self.tool_calls_usd += breakdown.tools
        if label == "iteration":
            self.iterations_charged += 1
            if self.max_iteration_usd is None or cost > self.max_iteration_usd:
                self.max_iteration_usd = cost
        return Charge(label=label, iteration=iteration, cost=cost)

    def carry_over(self, recorded_usd: Decimal) -> Decimal:
        """Raise the spend to what the operator recorded, if that is more; returns the rise.

        A checkpoint holds the ledger as of its writing; the pod that died after it spent
        more, and the operator's status saw it. Spend is never counted down.
        """
        rise = recorded_usd - self.spent
        if rise <= 0:
            return Decimal(0)
        self.spent += rise
        self.carried_usd += rise
        return rise

    def to_json(self) -> dict[str, Any]:
        def money(value: Decimal) -> str:
            return format(value, "f")

        return {
            "budgetUsd": money(self.budget),
            "spentUsd": money(self.spent),
            "overrunUsd": money(self.overrun_usd),
            "computeUsd": money(self.compute_usd),
            "promptTokensUsd": money(self.prompt_tokens_usd),
            "completionTokensUsd": money(self.completion_tokens_usd),
            "toolCallsUsd": money(self.tool_calls_usd),
            "carriedUsd": money(self.carried_usd),
            "maxIterationUsd": None
            if self.max_iteration_usd is None
            else money(self.max_iteration_usd),
            "iterationsCharged": self.iterations_charged,
            "usage": {
                "seconds": money(self.usage.seconds),
                "promptTokens": self.usage.prompt_tokens,
                "completionTokens": self.usage.completion_tokens,
                "toolCalls": self.usage.tool_calls,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        usage = data.get("usage", {})
        max_iteration = data.get("maxIterationUsd")
        # A checkpoint of an older trainer kept clamped spend apart as "unbilledUsd": it was
        # spent, so it is spent here.
        unbilled = Decimal(data.get("unbilledUsd", "0"))
        return cls(
            budget=Decimal(data["budgetUsd"]),
            spent=Decimal(data["spentUsd"]) + unbilled,
            usage=Usage(
                seconds=Decimal(usage.get("seconds", "0")),
                prompt_tokens=int(usage.get("promptTokens", 0)),
                completion_tokens=int(usage.get("completionTokens", 0)),
                tool_calls=int(usage.get("toolCalls", 0)),
            ),
            compute_usd=Decimal(data.get("computeUsd", "0")),
            prompt_tokens_usd=Decimal(data.get("promptTokensUsd", "0")),
            completion_tokens_usd=Decimal(data.get("completionTokensUsd", "0")),
            tool_calls_usd=Decimal(data.get("toolCallsUsd", "0")),
            carried_usd=Decimal(data.get("carriedUsd", "0")) + unbilled,
            max_iteration_usd=None if max_iteration is None else Decimal(max_iteration),
            iterations_charged=int(data.get("iterationsCharged", 0)),
        )
