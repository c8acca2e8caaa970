"""GPU smoke test: SmolLM2-135M-Instruct, a few GRPO iterations on CUDA, full fine-tuning and LoRA.

Each mode runs in a subprocess of its own (so that its peak memory is its own): it loads
the model from the cached folder (policy/models.py) onto the device in policy.dtype auto
(bfloat16 on GPUs that support it), samples `--batch` queries x `--group` completions of
up to `--new-tokens` tokens of the "What is a+b?" task (chat template, system prompt),
scores them, and runs the update (2 inner epochs) `--iterations` times. It reports
seconds per iteration (and CPU seconds), tokens/s (prompt + completion tokens of the
rollouts over the iteration time), peak memory (CUDA: torch.cuda.max_memory_allocated;
CPU: the process's peak RSS) and the metrics, then saves a checkpoint and loads it on the
CPU to check that it reloads there exactly. The first iteration (CUDA start-up) is not in the rates.

On a machine with 2 GPUs or more (or with `--ranks 2`) it then runs the trainer CLI on
SmolLM2 as 1 process and as 2 ranks under torchrun, one GPU each (NCCL; gloo on the CPU),
on the same spec and seed (bench/trainer_data_parallel.py's `compare`): tokens/s of both,
their ratio, and the largest difference of the final weights.

On a machine without a GPU it says so and exits 0; `--cpu` runs it on the CPU anyway (one
torch thread), which is how the figures in docs/trainer.md were measured.
Run: .venv/bin/python bench/gpu_smoke.py  ->  bench/results/gpu-smoke.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODES = ("full", "lora")
LEARNING_RATES = {"full": 1e-5, "lora": 2e-4}
SYSTEM_PROMPT = "You are a helpful assistant."


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="run on the CPU when there is no GPU")
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4, help="queries per iteration")
    parser.add_argument("--group", type=int, default=4, help="completions per query")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument(
        "--ranks",
        type=int,
        choices=(1, 2),
        help="2: also 2 ranks against 1 (default: 2 on 2+ GPUs)",
    )
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # the child's
    return parser.parse_args()


def _peak_bytes(device: Any) -> int:
    import torch

    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


def run_mode(args: argparse.Namespace) -> dict[str, Any]:
    """One mode in this process: load, iterate, checkpoint, reload on the CPU."""
    import torch
    from tests.trainer.conftest import sum_queries

    from agentcore_training.api.plugins import RewardSpec
    from agentcore_training.api.policy import LoraSpec, PolicySpec
    from agentcore_training.trainer.optim import AdamW
    from agentcore_training.trainer.policy.hf import HFPolicy
    from agentcore_training.trainer.policy.hf_load import pick_device
    from agentcore_training.trainer.policy.models import smollm2_folder
    from agentcore_training.trainer.queries import Query
    from agentcore_training.trainer.rewards import build_reward
    from agentcore_training.trainer.rollout import encode_prompts, sample_rollout
    from agentcore_training.trainer.update import policy_update

    torch.manual_seed(0)
    lora = LoraSpec() if args.mode == "lora" else None
    spec = PolicySpec(model=f"hf:{smollm2_folder()}", lora=lora, system_prompt=SYSTEM_PROMPT)
    started = time.monotonic()
    policy = HFPolicy.load_from(spec, seed=0, device=pick_device())
    load_s = time.monotonic() - started
    queries = [Query(q["query"], q["expected_outcome"]) for q in sum_queries()]
    reward = build_reward(RewardSpec(type="numeric"), queries)
    prompts = encode_prompts(policy.codec, queries)
    reference = policy.frozen_copy()
    optimizer = AdamW(policy.module.parameters(), lr=LEARNING_RATES[args.mode], weight_decay=0.0)
    generator = torch.Generator().manual_seed(0)
    rows: list[dict[str, Any]] = []
    for iteration in range(args.iterations):
        picks = [(iteration * args.batch + i) % len(queries) for i in range(args.batch)]
        tick, cpu_tick = time.monotonic(), time.process_time()
        batch = sample_rollout(
            policy,
            reward,
            [queries[i] for i in picks],
            [prompts[i] for i in picks],
            group_size=args.group,
            max_new_tokens=args.new_tokens,
            temperature=1.0,
            generator=generator,
        )
        rollout_s = time.monotonic() - tick
        stats = policy_update(
            policy, reference, optimizer, batch,
            inner_epochs=2, clip_epsilon=0.2, kl_coef=0.04, temperature=1.0,
        )  # fmt: skip
        if policy.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.monotonic() - tick
        rows.append(
            {
                "seconds": round(seconds, 3),
                "cpuSeconds": round(time.process_time() - cpu_tick, 3),
                "rolloutSeconds": round(rollout_s, 3),
                "tokens": batch.prompt_tokens + batch.completion_tokens,
                "reward": round(float(batch.rewards.mean()), 4),
                "epochKl": [round(e.kl, 6) for e in stats.epochs],
                "epochLoss": [round(e.loss, 6) for e in stats.epochs],
            }
        )
    timed = rows[1:] or rows
    seconds = sum(r["seconds"] for r in timed)
    with tempfile.TemporaryDirectory() as scratch:
        policy.save(Path(scratch))
        on_cpu = HFPolicy.load_from(spec, seed=0, device=torch.device("cpu"))
        on_cpu.load(Path(scratch))
        # What the checkpoint holds: every weight, or (LoRA) the adapters; a LoRA base in
        # bfloat16 on the GPU is the float32 base rounded, and is read from the model path.
        trained = {
            k: v.float().cpu()
            for k, v in policy.model.state_dict().items()
            if lora is None or "lora_" in k
        }
        reloaded = on_cpu.model.state_dict()
        exact = all(torch.equal(trained[k], reloaded[k].float()) for k in trained)
    facts = policy.describe()
    return {
        "mode": args.mode,
        "device": str(policy.device),
        "deviceName": torch.cuda.get_device_name() if policy.device.type == "cuda" else "cpu",
        "dtype": facts["dtype"],
        "trainableParameters": facts["trainableParameters"],
        "loadSeconds": round(load_s, 2),
        "secondsPerIteration": round(seconds / len(timed), 3),
        # CPU time of this process: what a loaded, shared machine's wall clock blurs.
        "cpuSecondsPerIteration": round(sum(r["cpuSeconds"] for r in timed) / len(timed), 3),
        "tokensPerSecond": round(sum(r["tokens"] for r in timed) / seconds, 1),
        "peakMemoryMiB": round(_peak_bytes(policy.device) / 2**20, 1),
        "checkpointReloadsOnCpuExactly": exact,
        "iterations": rows,
    }


def _two_ranks_against_one() -> dict[str, Any]:
    """SmolLM2 through the trainer CLI: 1 process, then 2 ranks (one device each)."""
    from bench.trainer_data_parallel import compare

    with tempfile.TemporaryDirectory(prefix="gpu-smoke-dp-") as scratch:
        result = compare("smollm2", Path(scratch))
    one, two = result["one_process"], result["two_ranks"]
    difference = result.get("max_weight_difference")  # where the checkpoint is policy.pt
    print(
        f"2 ranks: {two['tokens_per_s']} tokens/s against {one['tokens_per_s']} for 1 process "
        f"(ratio {result['ratio_tokens_per_s']})"
        + (f", largest weight difference {difference:.2e}" if difference is not None else "")
    )
    return {k: v for k, v in result.items() if k != "spec"}


def main() -> int:
    args = _options()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO))
    if args.mode is not None:
        print(json.dumps(run_mode(args)))
        return 0
    import torch

    if not torch.cuda.is_available() and not args.cpu:
        print("gpu_smoke: no CUDA GPU visible to torch; nothing to test (--cpu runs it anyway)")
        return 0
    from bench.common import RESULTS, begin_run, machine

    run = begin_run(__file__)
    results = []
    for mode in MODES:
        child = [sys.executable, __file__, "--mode", mode, *sys.argv[1:]]
        done = subprocess.run(child, capture_output=True, text=True, check=False, cwd=REPO)
        if done.returncode != 0:
            print(done.stderr[-4000:], file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{mode}: {result['device']} {result['dtype']}, {result['secondsPerIteration']} "
            f"s/iteration ({result['cpuSecondsPerIteration']} s CPU), "
            f"{result['tokensPerSecond']} tokens/s, peak "
            f"{result['peakMemoryMiB']} MiB, trainable {result['trainableParameters']}, "
            f"reloads on CPU exactly: {result['checkpointReloadsOnCpuExactly']}"
        )
    document: dict[str, Any] = {"name": "gpu-smoke", "results": results}
    ranks = args.ranks or (2 if torch.cuda.device_count() >= 2 else 1)
    if ranks == 2:
        document["dataParallel"] = _two_ranks_against_one()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "gpu-smoke.json"
    document.update(machine=machine(run), argv=run.argv)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
