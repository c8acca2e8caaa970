"""What the next iteration may cost, asked of the ledger before it runs. Pure: no torch.

After the first iteration the ledger knows the dearest one so far; before it, the estimate
is a worst case from token counts and one timed forward pass (the loop times the pass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from agentcore_training.trainer.ledger import Ledger, Prices, Usage, price, seconds_decimal


@dataclass(frozen=True)
class IterationShape:
    """The sizes that bound one iteration's work."""

    longest_prompt: int
    """Tokens of the longest query."""
    max_steps: int
    """Environment steps per trajectory (1 for single-turn)."""
    max_new_tokens: int
    observation_tokens: int
    """Tokens of one environment observation after a step."""
    n_trajectories_per_query: int
    batch_size: int
    inner_epochs: int
    multi_step: bool
    max_context: int | None

    @property
    def per_step(self) -> int:
        return self.max_new_tokens + (self.observation_tokens if self.max_steps > 1 else 0)

    @property
    def probe_width(self) -> int:
        """The widest sequence the iteration may run a forward pass over."""
        # Worst case of a multi-step environment: every trajectory takes every step, each a
        # tool call, each re-reading the whole context so far.
        width = self.longest_prompt + self.max_steps * self.per_step
        return width if self.max_context is None else min(width, self.max_context)

    def worst_case_usage(self, probe_seconds: float) -> Usage:
        """The most one iteration can use, given how long one probe forward pass took."""
        steps = self.max_steps
        # Generation steps, the reference pass, then forward+backward (~3 forwards) per
        # inner epoch, each over batch_size groups.
        forwards = steps * self.max_new_tokens + 1 + 3 * self.inner_epochs
        samples = self.batch_size * self.n_trajectories_per_query
        return Usage(
            seconds=seconds_decimal(probe_seconds * self.batch_size * forwards),
            prompt_tokens=samples
            * sum(self.longest_prompt + k * self.per_step for k in range(steps)),
            completion_tokens=samples * steps * self.max_new_tokens,
            tool_calls=samples * steps if self.multi_step else 0,
        )


def next_iteration_estimate(
    ledger: Ledger, prices: Prices, *, pending_seconds: float, prior: Callable[[], Decimal]
) -> Decimal:
    """Time already elapsed since the last charge, plus a cautious next iteration.

    `prior` (the worst case, priced) is asked only before the first iteration is charged.
    """
    pending = Usage(seconds=seconds_decimal(pending_seconds))
    basis = prior() if ledger.max_iteration_usd is None else Decimal(0)
    return price(pending, prices).total + ledger.next_iteration_estimate(basis)
