"""bench/training_clock.py: one clock for both trainers, first rollout to last step."""

from __future__ import annotations

import time

import pytest
import torch
from bench.training_clock import TrainingClock, patched, wrap_everywhere

from agentcore_training.trainer import rollout
from agentcore_training.trainer.optim import AdamW


def _torch_step(optimizer: torch.optim.Optimizer, weight: torch.nn.Parameter) -> None:
    optimizer.zero_grad()
    (weight**2).sum().backward()
    optimizer.step()


def test_torch_steps_before_the_first_rollout_do_not_count() -> None:
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    clock = TrainingClock()
    with clock:
        _torch_step(optimizer, weight)  # a warm start: before the first rollout
        generate = clock.rollout(lambda: None)
        generate()
        time.sleep(0.01)
        _torch_step(optimizer, weight)
        _torch_step(optimizer, weight)
    _torch_step(optimizer, weight)  # after the clock: the hook is gone
    assert clock.rollouts == 1
    assert clock.steps == 2
    assert clock.seconds() >= 0.01


def test_our_optimizer_is_timed_by_the_same_clock() -> None:
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = AdamW([weight], lr=0.1, weight_decay=0.0)
    clock = TrainingClock()
    with clock, patched(AdamW, "step", clock.step(AdamW.step)):
        clock.rollout(lambda: None)()
        weight.grad = torch.ones(2)
        optimizer.step()
    assert AdamW.step is not None
    assert clock.steps == 1
    assert "timed" not in AdamW.step.__qualname__  # restored


def test_no_step_after_a_rollout_is_an_error() -> None:
    clock = TrainingClock()
    with clock:
        clock.rollout(lambda: None)()
    with pytest.raises(RuntimeError, match="no optimiser step"):
        clock.seconds()


def test_wrap_everywhere_replaces_and_restores() -> None:
    original = rollout.sample_rollout
    calls: list[int] = []

    def wrap(function: object) -> object:
        def wrapper(*args: object, **kwargs: object) -> None:
            calls.append(1)

        return wrapper

    with wrap_everywhere(original, wrap):  # type: ignore[arg-type]
        assert rollout.sample_rollout is not original
        rollout.sample_rollout()  # type: ignore[call-arg]
    assert rollout.sample_rollout is original
    assert calls == [1]
