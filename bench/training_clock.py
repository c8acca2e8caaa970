"""One clock for both trainers of a throughput benchmark: first rollout to last optimiser step.

The clock starts when the first rollout of the training call starts (our rollout function,
TRL's `_generate_and_score_completions`) and stops when the last optimiser step ends (our
AdamW's `step` wrapped by `clock.step`; torch.optim's global step post-hook for TRL, which
calls the same `_after_step`). What either side does in
between (logging, progress reporting, checks, callbacks) is inside its time; model loading,
the warm start and the final checkpoint are outside both.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.hooks import RemovableHandle


class TrainingClock:
    """`with clock:` around the training call (it installs torch.optim's step post-hook);
    `clock.rollout` wraps the rollout function, `clock.step` an optimiser outside torch.optim.
    """

    def __init__(self) -> None:
        self.first_rollout: float | None = None
        self.last_step: float | None = None
        self.rollouts = 0
        self.steps = 0  # optimiser steps after the first rollout started
        self._handle: RemovableHandle | None = None

    def rollout(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, counted, the first call starting the clock."""

        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.first_rollout is None:
                self.first_rollout = time.monotonic()
            self.rollouts += 1
            return function(*args, **kwargs)

        return timed

    def step(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """An optimiser's `step`, its end noted like torch.optim's post-hook notes it."""

        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            self._after_step()
            return result

        return timed

    def _after_step(self, *_: Any) -> None:
        if self.first_rollout is not None:  # a warm start's steps come before: not counted
            self.steps += 1
            self.last_step = time.monotonic()

    def __enter__(self) -> TrainingClock:
        self._handle = register_optimizer_step_post_hook(self._after_step)
        return self

    def __exit__(self, *_: object) -> None:
        if self._handle is not None:
            self._handle.remove()

    def seconds(self) -> float:
        if self.first_rollout is None or self.last_step is None:
            raise RuntimeError("the clock saw no rollout, or no optimiser step after one")
        elapsed = self.last_step - self.first_rollout
        if elapsed <= 0:
            raise RuntimeError(f"non-positive training time {elapsed}: the clock is wrong")
        return elapsed


@contextmanager
def wrap_everywhere(
    original: Callable[..., Any], wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> Iterator[None]:
    """Replace `original` by `wrap(original)` in every loaded agentcore_training module."""
    wrapped = wrap(original)
    replaced: list[tuple[Any, str]] = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("agentcore_training") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if value is original:
                setattr(module, attribute, wrapped)
                replaced.append((module, attribute))
    try:
        yield
    finally:
        for module, attribute in replaced:
            setattr(module, attribute, original)


@contextmanager
def patched(owner: Any, attribute: str, value: Any) -> Iterator[None]:
    """`owner.attribute = value` for the duration (a class's method, for every instance)."""
    original = getattr(owner, attribute)
    setattr(owner, attribute, value)
    try:
        yield
    finally:
        setattr(owner, attribute, original)
