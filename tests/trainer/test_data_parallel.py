"""Data-parallel GRPO: 2 ranks (torchrun, gloo on CPU) update the weights as 1 rank does.

Same seed, same batch: each rank takes its share of the queries (whole groups), the loss
is normalised by the whole batch's tokens and the gradients are summed over the ranks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
WORKER = "tests.trainer.dp_update_worker"


def _run(ranks: int, out: Path) -> dict[str, object]:
    command = [sys.executable, "-m", WORKER, str(out)]
    if ranks > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            str(ranks),
            "--standalone",  # a free port: tests may run side by side
            "-m",
            WORKER,
            str(out),
        ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    saved: dict[str, object] = torch.load(out)
    return saved


def test_two_ranks_update_the_weights_as_one_rank(tmp_path: Path) -> None:
    one = _run(1, tmp_path / "one.pt")
    two = _run(2, tmp_path / "two.pt")
    first: dict[str, torch.Tensor] = one["state"]  # type: ignore[assignment]
    second: dict[str, torch.Tensor] = two["state"]  # type: ignore[assignment]
    assert first.keys() == second.keys()
    differences = [float((first[k] - second[k]).abs().max()) for k in first]
    assert max(differences) < 1e-5, differences
    initial: dict[str, torch.Tensor] = one["initial"]  # type: ignore[assignment]
    moved = max(float((first[k] - initial[k]).abs().max()) for k in first)
    assert moved > 1e-3  # the updates did change the weights: the equality means something
    losses_one: list[float] = one["losses"]  # type: ignore[assignment]
    losses_two: list[float] = two["losses"]  # type: ignore[assignment]
    assert losses_two == [pytest.approx(v, abs=1e-6) for v in losses_one]
