"""A trainer killed with SIGKILL after a checkpoint resumes from it, and pays once."""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

from agentcore_training.trainer.loop import run_training
from tests.trainer.conftest import (
    cli_env,
    json_lines,
    make_spec,
    options_for,
    run_cli,
    trainer_command,
    write_inputs,
)

# Tokens only: wall-clock time differs between any two runs (and a restart pays its
# start-up again), while token counts of a resumed, seeded run must match exactly.
PRICING = {
    "computeUsdPerHour": "0",
    "usdPer1kPromptTokens": "0.01",
    "usdPer1kCompletionTokens": "0.02",
}
SPEC = make_spec({"nIterations": 40, "checkpointInterval": 10, "seed": 3}, pricing=PRICING)


def test_sigkill_after_a_checkpoint_then_resume(tmp_path: Path) -> None:
    straight = run_training(options_for(tmp_path / "straight", SPEC))
    assert straight.report.iteration == 40

    spec_path, queries_path = write_inputs(tmp_path, SPEC)
    args = [
        "--spec",
        str(spec_path),
        "--queries",
        str(queries_path),
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
        "--termination-log",
        str(tmp_path / "termination-log"),
    ]
    process = subprocess.Popen(
        [*trainer_command(), *args], env=cli_env(), stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    killed_after = None
    for line in process.stdout:
        record = json.loads(line)
        # ckpt-000000 holds the held-out baseline, written before any iteration.
        if record["event"] == "checkpoint" and record["checkpointId"] != "ckpt-000000":
            process.send_signal(signal.SIGKILL)
            killed_after = record["checkpointId"]
            break
    process.wait(timeout=30)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert killed_after == "ckpt-000010"

    again = run_cli(args, timeout=120)
    assert again.returncode == 0, again.stderr
    records = json_lines(again.stdout)
    resumed = next(r for r in records if r["event"] == "resumed")
    assert resumed["checkpointId"] == killed_after
    first = next(r for r in records if r["event"] == "iteration")
    assert first["iteration"] == resumed["iteration"] + 1  # continues, does not restart

    summary = json.loads((tmp_path / "termination-log").read_text())
    assert summary["state"] == "completed"
    assert summary["iteration"] == 40
    cost = Decimal(summary["costUsd"])
    budget = Decimal(summary["budgetUsd"])
    assert cost <= budget
    one_iteration = straight.ledger.max_iteration_usd
    assert one_iteration is not None
    assert abs(cost - straight.ledger.spent) <= one_iteration
    state = json.loads((tmp_path / "ckpt" / summary["checkpointId"] / "state.json").read_text())
    assert Decimal(state["ledger"]["spentUsd"]) == cost
    # The two ledgers' token counts agree: the resumed run counted nothing twice.
    assert state["ledger"]["usage"]["promptTokens"] == straight.ledger.usage.prompt_tokens
