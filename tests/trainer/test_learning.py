"""builtin:tiny learns 100 single-digit additions with GRPO, from a random init, on CPU."""

from __future__ import annotations

import time
from pathlib import Path

from agentcore_training.api.contract import ProgressState
from agentcore_training.trainer.loop import run_training
from tests.trainer.conftest import make_spec, options_for

# Sized from grpo-notes: 16 queries x 8 samples, lr 1e-3, beta 0.04, 3 new tokens, 2 inner
# epochs, and a 200-step format-only warm start (random digits, never the answers). Seeds
# 0, 1, 2 reached 0.45, 0.46, 0.52 in the last 10% (first 10%: 0.05-0.07), ~30-45 s each.
SPEC = make_spec(
    {
        "nIterations": 400,
        "batchSize": 16,
        "nTrajectoriesPerQuery": 8,
        "learningRate": 1e-3,
        "klCoef": 0.04,
        "maxNewTokens": 3,
        "checkpointInterval": 100,
        "seed": 0,
    },
    policy={"warmStartSteps": 200},
)


def test_tiny_policy_learns_addition(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_training(options_for(tmp_path, SPEC))
    elapsed = time.monotonic() - started
    assert result.state is ProgressState.COMPLETED
    rewards = result.rewards
    assert len(rewards) == 400
    tenth = len(rewards) // 10
    first = sum(rewards[:tenth]) / tenth
    last = sum(rewards[-tenth:]) / tenth
    print(f"mean reward first 10% {first:.3f}, last 10% {last:.3f}, {elapsed:.1f} s")
    assert last >= 0.3
    assert last > first
    assert result.report.best_checkpoint_id is not None
    assert result.report.cost_usd <= result.report.budget_usd
