"""Keeping the budget by stopping in time: the running check inside an iteration. Pure.

The ledger records every cent spent (`ledger.py`); this module decides, before each piece
of work, whether that work could take the spend above `maxBudgetUsd`. Before a piece whose
worst case is `worst` it asks

    spent + price(uncharged usage so far + time since the last charge + worst) + reserve
        <= budget

where `reserve` is what must stay affordable after it: the rest of the iteration (the
update) and the end of the run (a final checkpoint, the output if spec.output asks for
one, and the tail charge). If not, it raises
`BudgetStop`, and the loop charges what was really used, checkpoints and ends with
BudgetExhausted. Worst cases are exact for tokens and tool calls (every row generates
`maxNewTokens` tokens, every action is a tool call) and, for time, the slowest rate seen so
far (or a timed probe before any) times SAFETY_FACTOR.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from agentcore_training.trainer.ledger import (
    SAFETY_FACTOR,
    Ledger,
    Prices,
    Usage,
    price,
    seconds_decimal,
)

_SAFETY = float(SAFETY_FACTOR)


class BudgetStop(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The next piece of work could cross the budget: stop before doing it."""

    def __init__(self, phase: str, projected: Decimal, budget: Decimal) -> None:
        super().__init__(
            f"{phase} could take the spend to {projected} USD of a {budget} USD budget"
        )
        self.phase = phase
        self.projected = projected
        self.budget = budget


@dataclass
class Rates:
    """The slowest rates seen so far (seconds), for worst-case time estimates."""

    token_step_s: float
    """Generation: seconds per row per token step (a timed probe before any generation)."""
    update_s: float
    """One policy update (a prior from the probe before any)."""
    checkpoint_s: float
    """One checkpoint write (a prior from the weights' size before any)."""
    warm_step_s: float
    """One warm-start step (a prior from the probe before any)."""
    output_s: float = 0.0
    """Writing spec.output at the end (a prior from the weights' size; 0 without one)."""

    def saw_generation(self, seconds: float, rows: int, steps: int) -> None:
        if rows > 0 and steps > 0:
            self.token_step_s = max(self.token_step_s, seconds / (rows * steps))

    def saw_update(self, seconds: float) -> None:
        self.update_s = max(self.update_s, seconds)

    def saw_checkpoint(self, seconds: float) -> None:
        self.checkpoint_s = max(self.checkpoint_s, seconds)

    def saw_warm_step(self, seconds: float) -> None:
        self.warm_step_s = max(self.warm_step_s, seconds)


@dataclass
class SpendGate:
    """The running budget check: asked before each piece of work, told what it used."""

    ledger: Ledger
    prices: Prices
    rates: Rates
    last_charge: Callable[[], float]
    """The monotonic time of the ledger's last charge (time since then is not charged yet)."""
    clock: Callable[[], float] = time.monotonic
    pending: Usage = field(default_factory=Usage)
    """Tokens and tool calls used since the last charge (the iteration so far)."""
    updates: bool = True
    """An update follows the generations (training); False for the held-out evaluation,
    which generates only: its checks reserve the end of the run, not an update."""

    def end_reserve(self) -> Usage:
        """What must stay affordable at any point: a final checkpoint, the output, the tail."""
        end_s = self.rates.checkpoint_s + self.rates.output_s
        return Usage(seconds=seconds_decimal(end_s * _SAFETY))

    def update_reserve(self) -> Usage:
        return Usage(seconds=seconds_decimal(self.rates.update_s * _SAFETY))

    def projected(self, worst: Usage, reserve: Usage) -> Decimal:
        elapsed = Usage(seconds=seconds_decimal(self.clock() - self.last_charge()))
        return (
            self.ledger.spent + price(self.pending + elapsed + worst + reserve, self.prices).total
        )

    def check(self, phase: str, worst: Usage, *, reserve: Usage | None = None) -> None:
        """Raise BudgetStop unless `worst`, then `reserve` (default: the end), stays within."""
        reserve = self.end_reserve() if reserve is None else reserve
        projected = self.projected(worst, reserve)
        if projected > self.ledger.budget:
            raise BudgetStop(phase, projected, self.ledger.budget)

    def used(self, usage: Usage) -> None:
        self.pending = self.pending + usage

    def reset(self) -> None:
        """After a charge: the pending usage is on the ledger now."""
        self.pending = Usage()

    # -- the checks of the rollout ------------------------------------------------------

    def before_generation(
        self, rows: int, prompt_tokens: int, max_new_tokens: int, *, tool_calls: int = 0
    ) -> None:
        """Before one generation call (single turn: the whole batch; multi-step: one step,
        with `tool_calls` the most calls its actions can make)."""
        worst = Usage(
            seconds=seconds_decimal(rows * max_new_tokens * self.rates.token_step_s * _SAFETY),
            prompt_tokens=prompt_tokens,
            completion_tokens=rows * max_new_tokens,
            tool_calls=tool_calls,
        )
        if self.updates:
            self.check("generation", worst, reserve=self.update_reserve() + self.end_reserve())
        else:
            self.check("held-out evaluation's generation", worst)

    def before_parallel_rollout(
        self,
        *,
        rows: int,
        slowest_rows: int,
        prompt_tokens: int,
        max_new_tokens: int,
        steps: int,
        multi_step: bool,
    ) -> None:
        """Before data-parallel ranks roll out one iteration's batch side by side (rank 0
        asks for all of them, so that every rank stops or none does): the whole rollout's
        worst case, every row generating `max_new_tokens` tokens at each of `steps` steps
        (each a tool call in a multi-step environment). Its time is that of the largest
        share, `slowest_rows` (the compute price is per process already)."""
        worst = Usage(
            seconds=seconds_decimal(
                slowest_rows * steps * max_new_tokens * self.rates.token_step_s * _SAFETY
            ),
            prompt_tokens=prompt_tokens,
            completion_tokens=rows * steps * max_new_tokens,
            tool_calls=rows * steps if multi_step else 0,
        )
        self.check("generation", worst, reserve=self.update_reserve() + self.end_reserve())

    def after_generation(
        self, seconds: float, rows: int, steps: int, prompt_tokens: int, completion_tokens: int
    ) -> None:
        self.rates.saw_generation(seconds, rows, steps)
        self.used(Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens))

    def after_tool_calls(self, calls: int) -> None:
        self.used(Usage(tool_calls=calls))
