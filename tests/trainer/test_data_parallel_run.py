"""A whole data-parallel run: the trainer CLI under torchrun with 2 ranks (gloo on CPU)
against the plain CLI, same spec and seed, over several iterations.

Each rank rolls out its share of every iteration's batch with the groups' own seeds, the
gradients are summed, rank 0 alone keeps the ledger, checkpoints and writes the summary:
the final weights, the rewards and the token counts equal those of 1 process.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import torch

from tests.trainer.conftest import cli_env, make_spec, write_inputs
from tests.trainer.progress_server import Recorded, progress_server

COMPUTE_USD_PER_SECOND = Decimal("0.01")
PRICING = {
    "computeUsdPerHour": str(COMPUTE_USD_PER_SECOND * 3600),
    "usdPer1kPromptTokens": "0.01",
    "usdPer1kCompletionTokens": "0.02",
}
ITERATIONS = 4
SPEC = make_spec(
    {
        "nIterations": ITERATIONS,
        "batchSize": 6,  # 3 queries a rank
        "nTrajectoriesPerQuery": 4,
        "learningRate": 1e-2,
        "klCoef": 0.04,
        "checkpointInterval": 2,
        "seed": 5,
    },
    policy={"warmStartSteps": 10},  # rank 0 warm-starts, the others take its weights
    pricing=PRICING,
)


def _run(directory: Path, ranks: int, progress_url: str | None = None) -> dict[str, Any]:
    directory.mkdir()
    spec_path, queries_path = write_inputs(directory, SPEC)
    program = ["-m", "agentcore_training.trainer.main"]
    if ranks > 1:
        launcher = ["-m", "torch.distributed.run", "--nproc-per-node", str(ranks)]
        program = [*launcher, "--standalone", *program]
    args = ["--spec", str(spec_path), "--queries", str(queries_path)]
    args += ["--checkpoint-dir", str(directory / "ckpt")]
    args += ["--termination-log", str(directory / "termination-log")]
    if progress_url is not None:
        args += ["--progress-url", progress_url]
    env = cli_env(AGENTCORE_PROGRESS_INTERVAL_SECONDS="0.1", POD_NAME="dp-pod")
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, *program, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads((directory / "termination-log").read_text())
    final = directory / "ckpt" / f"ckpt-{ITERATIONS:06d}"
    state = json.loads((final / "state.json").read_text())
    weights = torch.load(final / "policy.pt", weights_only=True)
    iterations = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {"summary": summary, "state": state, "weights": weights, "logs": iterations}


def test_two_ranks_train_as_one_process(tmp_path: Path) -> None:
    one = _run(tmp_path / "one", 1)
    recorded = Recorded()
    with progress_server(recorded) as url:
        two = _run(tmp_path / "two", 2, url)
    assert one["summary"]["state"] == two["summary"]["state"] == "completed"
    assert two["summary"]["iteration"] == ITERATIONS
    first: dict[str, torch.Tensor] = one["weights"]
    second: dict[str, torch.Tensor] = two["weights"]
    assert first.keys() == second.keys()
    # A key bias has no gradient (softmax ignores a shift of every score by the same
    # amount): its gradient is float noise, which AdamW scales up to steps of ~lr. It is
    # compared on its own, loosely; every other weight has a real gradient.
    d_model = first["wte.weight"].shape[1]
    keys = slice(d_model, 2 * d_model)
    differences: dict[str, float] = {}
    key_bias = 0.0
    for name, weight in first.items():
        delta = (weight - second[name]).abs()
        if name.endswith("qkv.bias"):
            key_bias = max(key_bias, float(delta[keys].max()))
            delta = torch.cat([delta[:d_model], delta[2 * d_model :]])
        differences[name] = float(delta.max())
    worst = max(differences.values())
    print(f"max |w(2 ranks) - w(1 rank)| after {ITERATIONS} iterations: {worst:.2e}")
    print(f"(key biases, no gradient: {key_bias:.2e})")
    assert worst < 1e-4, differences
    assert key_bias < 1e-2
    initial = torch.load(tmp_path / "one" / "ckpt" / "ckpt-000000" / "policy.pt")
    moved = max(float((first[k] - initial[k]).abs().max()) for k in first)
    assert moved > 1e-2  # the run did train: the equality means something
    # The same trajectories: the same rewards, and tokens counted once, not per rank.
    assert two["state"]["history"] == one["state"]["history"]  # avg reward per iteration
    ledgers = one["state"]["ledger"], two["state"]["ledger"]
    for field in ("promptTokens", "completionTokens", "toolCalls"):
        assert ledgers[1]["usage"][field] == ledgers[0]["usage"][field], field
    for field in ("promptTokensUsd", "completionTokensUsd"):
        assert ledgers[1][field] == ledgers[0][field], field
    # Compute is priced per process: the wall-clock seconds of 2 processes cost twice.
    for processes, ledger in enumerate(ledgers, start=1):
        seconds = Decimal(ledger["usage"]["seconds"])
        expected = seconds * COMPUTE_USD_PER_SECOND * processes
        assert abs(Decimal(ledger["computeUsd"]) - expected) < Decimal("1e-6"), processes
    # Rank 0 alone talks to the operator: one handshake, and reports of its ledger only
    # (another rank's would say 0 USD spent: it charges nothing).
    assert recorded.attempts_seen == 1
    assert recorded.reports[-1]["state"] == "completed"
    assert recorded.reports[-1]["costUsd"] == two["summary"]["costUsd"]
    trained = [r for r in recorded.reports if r["iteration"] > 0]
    assert trained
    assert all(Decimal(r["costUsd"]) > 0 for r in trained)
    # Rank 0 alone logs the iterations.
    iterations = [r for r in two["logs"] if r["event"] == "iteration"]
    assert [r["iteration"] for r in iterations] == list(range(1, ITERATIONS + 1))
    assert all("rank" not in r for r in iterations)
    # Rank 1 ends only once rank 0 has finished its tail (evaluation, checkpoint, output):
    # a pod of a multi-pod run must not be done while rank 0 may still fail.
    events = [(r["event"], r.get("rank", 0)) for r in two["logs"]]
    assert events.index(("released", 1)) > events.index(("finished", 0))


def test_sigterm_checkpoints_and_2_ranks_resume_from_it(tmp_path: Path) -> None:
    """torchrun passes SIGTERM to every rank; rank 0 sees it, every rank stops after the
    iteration, rank 0 checkpoints and says Interrupted; a new 2-rank run resumes there
    (every rank loads rank 0's checkpoint) and completes."""
    # 30 iterations: on an idle machine the run must still be training when SIGTERM lands.
    total = 30
    config = {"nIterations": total, "batchSize": 4, "checkpointInterval": 100}
    spec = make_spec(config, pricing=PRICING)
    spec_path, queries_path = write_inputs(tmp_path, spec)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--standalone", "-m", "agentcore_training.trainer.main"]
    command += ["--spec", str(spec_path), "--queries", str(queries_path)]
    command += ["--checkpoint-dir", str(tmp_path / "ckpt")]
    command += ["--termination-log", str(tmp_path / "termination-log")]
    env = cli_env()
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{") and json.loads(line)["event"] == "iteration":
            process.send_signal(signal.SIGTERM)  # to torchrun, as a kubelet does
            break
    process.communicate(timeout=120)
    assert process.returncode != 0  # torchrun reports a signalled worker as a failure
    interrupted = json.loads((tmp_path / "termination-log").read_text())
    assert interrupted["reason"] == "Interrupted"
    stopped_at = interrupted["iteration"]
    assert 1 <= stopped_at < total
    assert interrupted["checkpointId"] == f"ckpt-{stopped_at:06d}"

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    records = [json.loads(x) for x in again.stdout.splitlines() if x.startswith("{")]
    resumed = [r for r in records if r["event"] == "resumed"]
    assert {r.get("rank", 0) for r in resumed} == {0, 1}  # both ranks loaded it
    assert all(r["iteration"] == stopped_at for r in resumed)
    iterations = [r["iteration"] for r in records if r["event"] == "iteration"]
    assert iterations == list(range(stopped_at + 1, total + 1))  # nothing trained twice
    summary = json.loads((tmp_path / "termination-log").read_text())
    assert (summary["state"], summary["iteration"]) == ("completed", total)
    assert Decimal(summary["costUsd"]) > Decimal(interrupted["costUsd"])
