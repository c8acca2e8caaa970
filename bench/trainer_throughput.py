"""Benchmark: our GRPO trainer vs Hugging Face TRL's GRPOTrainer, same model and config.

Both train the same ~100k-parameter GPT-2-shaped model (builtin:tiny, exported exactly to
a transformers GPT2 folder for TRL) from the same format-warm-started weights, on the same
100 addition queries, group size, lengths, learning rate, beta, clip range, inner epochs
and number of iterations, one torch thread each, in this one process. One iteration =
one sampled batch (16 queries x 8 completions) and its 2 inner optimiser steps (TRL:
num_iterations=2, so max_steps = 2 x iterations).

Both sides are timed the same way, by the same clock (bench/training_clock.py): from the
start of the first rollout to the end of the last optimiser step of the training call, so
our logging, progress reporting (to a real local progress endpoint over HTTP) and budget
checks are inside ours, and TRL's logging, callbacks and dataloader inside theirs. TRL's
number of rollouts is checked against the configured iterations, and its extra no-grad
forward pass (old log-probabilities, because num_iterations > 1; we take them from the
first inner epoch's forward) is timed and reported as a named difference.

The order of the two sides alternates with the seed (ours first for the first seed).
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
from bench.common import begin_run, load_average, package_versions, write_result
from bench.training_clock import TrainingClock, patched, wrap_everywhere
from tests.trainer.progress_server import Recorded, progress_server

from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer import episodes, rollout
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.loop import run_training
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.export import export_tiny
from agentcore_training.trainer.policy.tiny import TinyPolicy
from agentcore_training.trainer.progress import ProgressPusher
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
PUSH_INTERVAL_S = 2.0  # the trainer's default (AGENTCORE_PROGRESS_INTERVAL_SECONDS)
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


def head_mean(values: list[float]) -> float:
    tenth = max(1, len(values) // 10)
    return sum(values[:tenth]) / tenth


def run_ours(folder: Path, queries: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    path = folder / "queries.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in queries))
    spec = TrainingJobSpec.model_validate(
        {
            "agentId": "bench",
            "queries": {"configMapRef": {"name": "q"}},
            "config": {**CONFIG, "seed": seed},
            "policy": {"model": "builtin:tiny", "warmStartSteps": WARM_START_STEPS},
            # TRL trains on all 100 queries and evaluates none: the same work on our side.
            "evaluation": {"heldOutFraction": 0},
        }
    )
    options = TrainerOptions(
        spec=spec,
        queries_file=path,
        checkpoint_dir=folder / "ckpt",
        inner_epochs=INNER_EPOCHS,
        termination_log=None,
    )
    clock = TrainingClock()
    recorded = Recorded()
    with (
        progress_server(recorded) as url,
        contextlib.redirect_stdout(io.StringIO()),  # the JSON-line logs: written, not shown
        clock,
        wrap_everywhere(rollout.sample_rollout, clock.rollout),
        wrap_everywhere(episodes.sample_episodes, clock.rollout),
        patched(AdamW, "step", clock.step(AdamW.step)),
    ):
        sink = ProgressPusher(url, interval_s=PUSH_INTERVAL_S)
        result = run_training(options, sink)
        sink.close(result.report, 10)
    seconds = clock.seconds()
    tokens = result.ledger.usage.prompt_tokens + result.ledger.usage.completion_tokens
    return {
        "iterations": len(result.rewards),
        "rollouts": clock.rollouts,
        "optimizer_steps": clock.steps,
        "seconds": round(seconds, 3),
        "loop_seconds_rollout_and_update_only": round(result.seconds, 3),
        "iterations_per_s": len(result.rewards) / seconds,
        "tokens_per_s": round(tokens / seconds, 1),
        "progress_reports_received": len(recorded.reports),
        "mean_reward_last_10pct": round(tail_mean(result.rewards), 4),
        "mean_reward_first_10pct": round(head_mean(result.rewards), 4),
        "config": {
            "spec": spec.model_dump(mode="json", by_alias=True),
            "trainer_options": {
                "inner_epochs": options.inner_epochs,
                "micro_batch_size": options.micro_batch_size,
                "push_interval_s": PUSH_INTERVAL_S,
                "progress": "ProgressPusher to a local HTTP progress endpoint",
            },
        },
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
    trainer = GRPOTrainer(
        model=str(model_dir),
        reward_funcs=[exact_match],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    clock = TrainingClock()
    forward_seconds = {"training": 0.0, "reference": 0.0, "old_logps_extra": 0.0}
    forward_calls = dict.fromkeys(forward_seconds, 0)
    logps = trainer._get_per_token_logps_and_entropies

    def timed_logps(model: Any, *args: Any, **kwargs: Any) -> Any:
        if model is trainer.ref_model:
            kind = "reference"
        elif torch.is_grad_enabled():
            kind = "training"
        else:
            kind = "old_logps_extra"
        started = time.monotonic()
        try:
            return logps(model, *args, **kwargs)
        finally:
            forward_seconds[kind] += time.monotonic() - started
            forward_calls[kind] += 1

    trainer._get_per_token_logps_and_entropies = timed_logps
    trainer._generate_and_score_completions = clock.rollout(trainer._generate_and_score_completions)
    with contextlib.redirect_stdout(io.StringIO()), clock:
        trainer.train()
    seconds = clock.seconds()
    if clock.rollouts != ITERATIONS:
        raise RuntimeError(f"TRL made {clock.rollouts} rollouts, configured {ITERATIONS}")
    if trainer.state.global_step != ITERATIONS * INNER_EPOCHS or clock.steps != ITERATIONS * (
        INNER_EPOCHS
    ):
        raise RuntimeError(
            f"TRL made {trainer.state.global_step} steps ({clock.steps} optimiser steps), "
            f"configured {ITERATIONS * INNER_EPOCHS}"
        )
    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    rewards = [entry["reward"] for entry in logs]
    if len(rewards) != ITERATIONS:
        raise RuntimeError(f"TRL logged {len(rewards)} rewards for {ITERATIONS} rollouts")
    tokens = max((entry.get("num_tokens", 0) for entry in logs), default=0)
    return {
        "iterations": clock.rollouts,
        "rollouts": clock.rollouts,
        "optimizer_steps": clock.steps,
        "global_step": trainer.state.global_step,
        "seconds": round(seconds, 3),
        "iterations_per_s": clock.rollouts / seconds,
        "tokens_per_s": round(tokens / seconds, 1),
        "forward_seconds": {k: round(v, 3) for k, v in forward_seconds.items()},
        "forward_calls": forward_calls,
        "mean_reward_last_10pct": round(tail_mean(rewards), 4),
        "mean_reward_first_10pct": round(head_mean(rewards), 4),
        "config": {"grpo_config": json.loads(json.dumps(args.to_dict(), default=str))},
    }


def _combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput over all seeds' iterations and seconds; rewards averaged over seeds."""
    iterations = sum(r["iterations"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    combined = {
        "iterations_per_s": iterations / seconds,
        "iterations": iterations,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(sum(r["tokens_per_s"] * r["seconds"] for r in runs) / seconds, 1),
        "mean_reward_last_10pct": round(
            sum(r["mean_reward_last_10pct"] for r in runs) / len(runs), 4
        ),
        "mean_reward_first_10pct": round(
            sum(r["mean_reward_first_10pct"] for r in runs) / len(runs), 4
        ),
        "per_seed": {str(seed): _shown(r) for seed, r in zip(SEEDS, runs, strict=True)},
    }
    if "forward_seconds" in runs[0]:
        combined["forward_seconds"] = {
            kind: round(sum(r["forward_seconds"][kind] for r in runs), 3)
            for kind in runs[0]["forward_seconds"]
        }
    return combined


def _shown(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "config"}


def _extra_forward(ours: dict[str, Any], trl: dict[str, Any]) -> dict[str, Any]:
    """TRL's extra no-grad forward pass (old log-probs) as a named, measured difference."""
    extra = trl["forward_seconds"]["old_logps_extra"]
    without = trl["iterations"] / (trl["seconds"] - extra)
    return {
        "what": (
            "with num_iterations > 1 TRL runs one extra no-grad forward pass of the policy "
            "over each generated batch to get the old log-probabilities; ours takes them "
            "from the first inner epoch's forward (the ratio is exactly 1 there), so it "
            "makes one forward pass fewer per iteration"
        ),
        "trl_seconds_in_it": extra,
        "share_of_trl_time": round(extra / trl["seconds"], 3),
        "trl_iterations_per_s_without_it": round(without, 3),
        "ratio_if_trl_skipped_it": round(ours["iterations_per_s"] / without, 3),
    }


def main() -> None:
    run = begin_run(__file__)
    queries = addition()
    ours_runs, trl_runs = [], []
    with tempfile.TemporaryDirectory() as directory:
        for number, seed in enumerate(SEEDS):
            root = Path(directory) / f"seed-{seed}"
            (root / "ours").mkdir(parents=True)
            (root / "trl").mkdir()
            # The order alternates with the seed: a change of the machine's load in the
            # middle of a seed does not always fall on the same side.
            for side in ("ours", "trl") if number % 2 == 0 else ("trl", "ours"):
                load = load_average()
                if side == "ours":
                    ours_runs.append(run_ours(root / "ours", queries, seed))
                    ours_runs[-1]["position"] = 1 if number % 2 == 0 else 2
                    ours_runs[-1]["load_average_at_start"] = load
                    print(f"ours, seed {seed}: {_shown(ours_runs[-1])}", file=sys.stderr)
                else:
                    trl_runs.append(run_trl(root / "trl", queries, seed))
                    trl_runs[-1]["position"] = 2 if number % 2 == 0 else 1
                    trl_runs[-1]["load_average_at_start"] = load
                    print(f"trl, seed {seed}:  {_shown(trl_runs[-1])}", file=sys.stderr)
    ours, trl = _combined(ours_runs), _combined(trl_runs)
    path = write_result(
        "trainer-throughput",
        unit="iterations/s",
        higher_is_better=True,
        ours=ours["iterations_per_s"],
        baseline=trl["iterations_per_s"],
        baseline_name=f"TRL GRPOTrainer {package_versions(('trl',)).get('trl')}, same model+config",
        details={
            "ours": ours,
            "baseline": trl,
            "seeds": SEEDS,
            "timing": (
                "both: from the start of the first rollout to the end of the last optimiser "
                "step of the training call (bench/training_clock.py)"
            ),
            "named_differences": {"trl_extra_forward_pass": _extra_forward(ours, trl)},
            "reward_note": (
                "mean reward over the last 10% of the same number of iterations, "
                "averaged over the seeds"
            ),
        },
        run=run,
        config={
            "common": {
                **CONFIG,
                "innerEpochs": INNER_EPOCHS,
                "warmStartSteps": WARM_START_STEPS,
                "seeds": SEEDS,
                "queries": "100 additions a+b= (a, b in 0..9)",
                "model": "builtin:tiny (GPT-2 shape, d=64, 2 layers, 4 heads), same init",
                "torchThreads": torch.get_num_threads(),
            },
            "ours": ours_runs[0]["config"],
            "baseline": trl_runs[0]["config"],
        },
        baseline_versions=package_versions(("trl", "transformers", "accelerate", "torch")),
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
