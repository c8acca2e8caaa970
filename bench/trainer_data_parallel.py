"""Benchmark: data-parallel GRPO, 2 ranks (torchrun, gloo) against 1 process, same work.

The trainer CLI runs the same spec (same seed, so the same trajectories and the same final
weights within float tolerance) twice per model, in this one benchmark run: once as one
process, once under `torch.distributed.run --nproc-per-node 2 --standalone` (each rank
rolls out half of every iteration's queries; the gradients are summed; rank 0 keeps the
ledger). One torch thread per process. Throughput = the training tokens (prompt +
completion, from rank 0's ledger; no held-out evaluation) over the seconds of the
iterations (each iteration's `iteration_seconds` as rank 0 logs it: rollout, gathers and
update, the all-reduce included). Headline: SmolLM2-135M-Instruct (full fine-tuning);
builtin:tiny in the details. ratio = throughput(2 ranks) / throughput(1 process), the
scaling efficiency times 2 on this machine: 2 cores shared with other work, so the load
average is recorded before each side.

The mean reward and loss of every iteration of both sides are in the details (they are
equal: the same trajectories), and, for builtin:tiny, the largest difference between the
two sides' final weights.
Run: .venv/bin/python bench/trainer_data_parallel.py  ->  bench/results/trainer-data-parallel.json
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import begin_run, load_average, package_versions, write_result
from tests.trainer.conftest import addition_queries, sum_queries

from agentcore_training.trainer.policy.models import smollm2_folder

ITERATIONS = {"tiny": int(os.environ.get("BENCH_ITERATIONS", "12")), "smollm2": 3}
COMMON: dict[str, Any] = {
    "klCoef": 0.04,
    "clipEpsilon": 0.2,
    "temperature": 1.0,
    "checkpointInterval": 10000,
    "maxBudgetUsd": "100",
    "seed": 0,
}
MODELS: dict[str, dict[str, Any]] = {
    "tiny": {
        "config": {"batchSize": 16, "nTrajectoriesPerQuery": 8, "maxNewTokens": 3},
        "learningRate": 1e-3,
        "policy": {"model": "builtin:tiny"},
    },
    "smollm2": {
        "config": {"batchSize": 4, "nTrajectoriesPerQuery": 4, "maxNewTokens": 8},
        "learningRate": 2e-5,
        "policy": {"systemPrompt": "You are a helpful assistant."},
    },
}


def _spec(model: str) -> dict[str, Any]:
    chosen = MODELS[model]
    policy = dict(chosen["policy"])
    if model == "smollm2":
        policy["model"] = f"hf:{smollm2_folder()}"
    return {
        "agentId": "bench",
        "queries": {"configMapRef": {"name": "q"}},
        "config": {
            **COMMON,
            **chosen["config"],
            "nIterations": ITERATIONS[model],
            "learningRate": chosen["learningRate"],
        },
        "policy": policy,
        "reward": {"type": "numeric"},
        "evaluation": {"heldOutFraction": 0},
    }


QUERIES = {"tiny": addition_queries(), "smollm2": sum_queries()}
"""builtin:tiny: "3+4="; SmolLM2: "What is 3+4? Answer with the number only." (it learns it)."""


def run_side(
    folder: Path, spec: dict[str, Any], queries: list[dict[str, Any]], ranks: int
) -> dict[str, Any]:
    """One CLI run (1 process, or `ranks` under torchrun); its figures from rank 0's logs."""
    folder.mkdir(parents=True)
    spec_path, queries_path = folder / "spec.json", folder / "queries.jsonl"
    spec_path.write_text(json.dumps(spec))
    queries_path.write_text("".join(json.dumps(q) + "\n" for q in queries))
    program = ["-m", "agentcore_training.trainer.main"]
    if ranks > 1:
        program = ["-m", "torch.distributed.run", "--nproc-per-node", str(ranks), "--standalone"]
        program += ["-m", "agentcore_training.trainer.main"]
    args = ["--spec", str(spec_path), "--queries", str(queries_path)]
    args += ["--checkpoint-dir", str(folder / "ckpt"), "--termination-log", str(folder / "end")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCORE_")}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    load = load_average()
    done = subprocess.run(
        [sys.executable, *program, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{ranks} rank(s) failed:\n{done.stderr[-3000:]}")
    records = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    iterations = [r for r in records if r["event"] == "iteration"]
    seconds = sum(r["metrics"]["iteration_seconds"] for r in iterations)
    tokens = iterations[-1]["metrics"]["tokens"]
    final = folder / "ckpt" / f"ckpt-{len(iterations):06d}" / "policy.pt"
    weights = torch.load(final, weights_only=True) if final.exists() else None
    return {
        "ranks": ranks,
        "iterations": len(iterations),
        "seconds": round(seconds, 3),
        "seconds_per_iteration": round(seconds / len(iterations), 3),
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 2),
        "rewards": [round(r["metrics"]["avg_reward"], 4) for r in iterations],
        "losses": [round(r["metrics"]["loss"], 6) for r in iterations],
        "cost_usd": json.loads((folder / "end").read_text())["costUsd"],
        "load_average_before": load,
        "_weights": weights,
    }


def compare(model: str, root: Path) -> dict[str, Any]:
    spec = _spec(model)
    one = run_side(root / f"{model}-1", spec, QUERIES[model], 1)
    shutil.rmtree(root / f"{model}-1" / "ckpt")  # SmolLM2's checkpoints are ~1.6 GB
    two = run_side(root / f"{model}-2", spec, QUERIES[model], 2)
    shutil.rmtree(root / f"{model}-2" / "ckpt")
    first, second = one.pop("_weights"), two.pop("_weights")
    result: dict[str, Any] = {
        "one_process": one,
        "two_ranks": two,
        "ratio_tokens_per_s": round(two["tokens_per_s"] / one["tokens_per_s"], 3),
        "spec": spec,
    }
    if first is not None and second is not None:
        result["max_weight_difference"] = max(
            float((first[k] - second[k]).abs().max()) for k in first
        )
    return result


def main() -> None:
    run = begin_run(__file__)
    with tempfile.TemporaryDirectory(prefix="bench-dp-") as directory:
        results = {model: compare(model, Path(directory)) for model in ("tiny", "smollm2")}
    headline = results["smollm2"]
    path = write_result(
        "trainer-data-parallel",
        unit="tokens/s",
        higher_is_better=True,
        ours=headline["two_ranks"]["tokens_per_s"],
        baseline=headline["one_process"]["tokens_per_s"],
        baseline_name="the same trainer as 1 process, same spec and seed (SmolLM2-135M)",
        details={m: {k: v for k, v in r.items() if k != "spec"} for m, r in results.items()},
        run=run,
        config={
            "common": {"iterations": ITERATIONS, "torchThreadsPerProcess": 1, **COMMON},
            "ours": {model: r["spec"] for model, r in results.items()},
            "baseline": {model: r["spec"] for model, r in results.items()},
        },
        # The baseline is this trainer itself, as one process: the same versions.
        baseline_versions=package_versions(("agentcore-training", "torch")),
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
