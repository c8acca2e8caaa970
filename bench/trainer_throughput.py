"""Benchmark: our GRPO trainer vs Hugging Face TRL's GRPOTrainer, same model and config.

Both train the same ~100k-parameter GPT-2-shaped model (builtin:tiny, exported exactly to
a transformers GPT2 folder for TRL) from the same format-warm-started weights, on the same
100 addition queries, group size, lengths, learning rate, beta, clip range, inner epochs
and number of iterations, one torch thread each, in this one process. One iteration =
one sampled batch (16 queries x 8 completions) and its 2 inner optimiser steps (TRL:
num_iterations=2, so max_steps = 2 x iterations).

Run: .venv/bin/python bench/trainer_throughput.py  ->  bench/results/trainer-throughput.json
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # after the settings above: torch reads OMP_NUM_THREADS on import

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import begin_run, package_versions, write_result

from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.loop import run_training
from agentcore_training.trainer.policy.export import export_tiny
from agentcore_training.trainer.policy.tiny import TinyPolicy
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rollout import encode_prompts
from agentcore_training.trainer.tokenizer import CharTokenizer
from agentcore_training.trainer.warmstart import format_warm_start

torch.set_num_threads(1)

ITERATIONS = int(os.environ.get("BENCH_ITERATIONS", "200"))
# Several seeds: on this toy one seed's reward is noisy (0.09-0.26 for TRL at 200 iterations).
SEEDS = [int(s) for s in os.environ.get("BENCH_SEEDS", "0,1").split(",")]
CONFIG: dict[str, Any] = {
    "nIterations": ITERATIONS,
    "batchSize": 16,
    "nTrajectoriesPerQuery": 8,
    "learningRate": 1e-3,
    "klCoef": 0.04,
    "clipEpsilon": 0.2,
    "temperature": 1.0,
    "maxNewTokens": 3,
    "checkpointInterval": 10000,
    "maxBudgetUsd": "100",
}
WARM_START_STEPS = 200
INNER_EPOCHS = 2


def addition() -> list[dict[str, Any]]:
    return [
        {"query": f"{a}+{b}=", "expected_outcome": {"answer": str(a + b)}}
        for a in range(10)
        for b in range(10)
    ]


def tail_mean(values: list[float]) -> float:
    tenth = max(1, len(values) // 10)
    return sum(values[-tenth:]) / tenth


def run_ours(folder: Path, queries: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    path = folder / "queries.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in queries))
    spec = TrainingJobSpec.model_validate(
        {
            "agentId": "bench",
            "queries": {"configMapRef": {"name": "q"}},
            "config": {**CONFIG, "seed": seed},
            "policy": {"model": "builtin:tiny", "warmStartSteps": WARM_START_STEPS},
        }
    )
    options = TrainerOptions(
        spec=spec,
        queries_file=path,
        checkpoint_dir=folder / "ckpt",
        inner_epochs=INNER_EPOCHS,
        termination_log=None,
    )
    with contextlib.redirect_stdout(io.StringIO()):  # the JSON-line logs
        result = run_training(options)
    tokens = result.ledger.usage.prompt_tokens + result.ledger.usage.completion_tokens
    return {
        "iterations": len(result.rewards),
        "seconds": round(result.seconds, 3),
        "iterations_per_s": len(result.rewards) / result.seconds,
        "tokens_per_s": round(tokens / result.seconds, 1),
        "mean_reward_last_10pct": round(tail_mean(result.rewards), 4),
        "mean_reward_first_10pct": round(
            sum(result.rewards[: ITERATIONS // 10]) / (ITERATIONS // 10), 4
        ),
    }


def warm_started_tiny(queries: list[dict[str, Any]], seed: int) -> TinyPolicy:
    """The same weights our run starts GRPO from (same seeds, same warm start)."""
    items = [Query(q["query"], q["expected_outcome"]) for q in queries]
    texts = [q.query for q in items] + [str(q.expected_outcome["answer"]) for q in items]
    tokenizer = CharTokenizer.from_texts(texts)
    longest = max(len(q.query) for q in items)
    policy = TinyPolicy.create(
        tokenizer, max_context=longest + CONFIG["maxNewTokens"] + 1, seed=seed
    )
    format_warm_start(
        policy,
        encode_prompts(policy.codec, items),
        steps=WARM_START_STEPS,
        learning_rate=CONFIG["learningRate"],
        max_new_tokens=CONFIG["maxNewTokens"],
        generator=torch.Generator().manual_seed(seed + 1),
    )
    return policy


def run_trl(folder: Path, queries: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    import datasets
    import transformers
    from trl import GRPOConfig, GRPOTrainer

    transformers.logging.set_verbosity_error()
    model_dir = export_tiny(warm_started_tiny(queries, seed), folder / "model")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    dataset = datasets.Dataset.from_list(
        [{"prompt": q["query"], "answer": q["expected_outcome"]["answer"]} for q in queries]
    )

    def exact_match(completions: list[str], answer: list[str], **_: Any) -> list[float]:
        return [float(c.strip() == a) for c, a in zip(completions, answer, strict=True)]

    samples = CONFIG["batchSize"] * CONFIG["nTrajectoriesPerQuery"]
    args = GRPOConfig(
        output_dir=str(folder / "trl-out"),
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        per_device_train_batch_size=samples,
        num_generations=CONFIG["nTrajectoriesPerQuery"],
        max_completion_length=CONFIG["maxNewTokens"],
        num_iterations=INNER_EPOCHS,
        max_steps=ITERATIONS * INNER_EPOCHS,
        learning_rate=CONFIG["learningRate"],
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        beta=CONFIG["klCoef"],
        epsilon=CONFIG["clipEpsilon"],
        loss_type="bnpo",
        scale_rewards="group",
        temperature=CONFIG["temperature"],
        top_k=0,
        top_p=1.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    timing: dict[str, float] = {}

    class Clock(transformers.TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
            timing["begin"] = time.monotonic()

        def on_train_end(self, *args: Any, **kwargs: Any) -> None:
            timing["end"] = time.monotonic()

    trainer = GRPOTrainer(
        model=str(model_dir),
        reward_funcs=[exact_match],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[Clock()],
    )
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.train()
    seconds = timing["end"] - timing["begin"]
    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    rewards = [entry["reward"] for entry in logs]
    tokens = max((entry.get("num_tokens", 0) for entry in logs), default=0)
    return {
        "iterations": len(rewards),
        "optimizer_steps": trainer.state.global_step,
        "seconds": round(seconds, 3),
        "iterations_per_s": len(rewards) / seconds,
        "tokens_per_s": round(tokens / seconds, 1),
        "mean_reward_last_10pct": round(tail_mean(rewards), 4),
        "mean_reward_first_10pct": round(sum(rewards[: ITERATIONS // 10]) / (ITERATIONS // 10), 4),
    }


def _combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput over all seeds' iterations and seconds; rewards averaged over seeds."""
    iterations = sum(r["iterations"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    return {
        "iterations_per_s": iterations / seconds,
        "tokens_per_s": round(sum(r["tokens_per_s"] * r["seconds"] for r in runs) / seconds, 1),
        "mean_reward_last_10pct": round(
            sum(r["mean_reward_last_10pct"] for r in runs) / len(runs), 4
        ),
        "mean_reward_first_10pct": round(
            sum(r["mean_reward_first_10pct"] for r in runs) / len(runs), 4
        ),
        "per_seed": {str(seed): r for seed, r in zip(SEEDS, runs, strict=True)},
    }


def main() -> None:
    run = begin_run(__file__)
    queries = addition()
    ours_runs, trl_runs = [], []
    with tempfile.TemporaryDirectory() as directory:
        for seed in SEEDS:
            root = Path(directory) / f"seed-{seed}"
            (root / "ours").mkdir(parents=True)
            (root / "trl").mkdir()
            ours_runs.append(run_ours(root / "ours", queries, seed))
            print(f"ours, seed {seed}: {ours_runs[-1]}", file=sys.stderr)
            try:
                trl_runs.append(run_trl(root / "trl", queries, seed))
            except Exception as error:
                print(f"TRL baseline failed: {type(error).__name__}: {error}", file=sys.stderr)
                raise
            print(f"trl, seed {seed}:  {trl_runs[-1]}", file=sys.stderr)
    ours, trl = _combined(ours_runs), _combined(trl_runs)
    path = write_result(
        "trainer-throughput",
        unit="iterations/s",
        higher_is_better=True,
        ours=ours["iterations_per_s"],
        baseline=trl["iterations_per_s"],
        baseline_name="trl GRPOTrainer 1.16, same model+config",
        details={
            "ours": ours,
            "baseline": trl,
            "seeds": SEEDS,
            "config": {
                **CONFIG,
                "innerEpochs": INNER_EPOCHS,
                "warmStartSteps": WARM_START_STEPS,
                "model": "builtin:tiny (GPT-2 shape, d=64, 2 layers, 4 heads), same init",
                "torchThreads": 1,
                "trl": "beta=0.04, loss_type=bnpo, num_iterations=2, scale_rewards=group, "
                "constant lr, bf16 off, gradient_checkpointing off",
            },
            "reward_note": (
                "mean reward over the last 10% of the same number of iterations, "
                "averaged over the seeds"
            ),
        },
        run=run,
        config={"ours": {**CONFIG, "innerEpochs": INNER_EPOCHS}, "baseline": {"trl": "GRPOConfig"}},
        baseline_versions=package_versions(("trl", "transformers", "torch")),
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
