"""Did the agent get better on queries it never trained on? Through the operator and the dev
runner, three seeds at once (three TrainingJobs, three trainer processes), on builtin:tiny:
addition and the calculator environment.

For each seed: the status the operator wrote shows the final checkpoint's held-out success
rate above the baseline's (measured by the trainer at iteration 0, after the format-only warm
start) with McNemar's p < 0.05, and the Improved condition; and the trainer's own log of the
queries it trained on (`queryIndices` of every iteration) never names a held-out one of the
split that `evaluation_split.py` computes from the seed.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.trainer.evaluation_split import split_queries
from tests.support.cluster import Cluster
from tests.support.trainingjobs import apply, conditions_of, create_queries, trainingjob, wait_for

pytestmark = pytest.mark.usefixtures("operator")

SEEDS = (0, 1, 2)
SIGNIFICANCE = 0.05


def no_carry_additions() -> list[tuple[str, str]]:
    """a+b= with a in 0..49 and b in 0..9 where the units do not carry: 275 queries.

    A held-out query is never trained on, but its parts are: the tens digit is a's, and the
    units digit is a one-digit sum that training shows with other tens digits (and alone, in
    the one-digit queries). A model that learns to add digit by digit answers the held-out
    ones; one that memorises the training ones does not."""
    return [(f"{a}+{b}=", str(a + b)) for a in range(50) for b in range(10) if a % 10 + b < 10]


def products() -> list[tuple[str, str]]:
    """200 distinct two-digit products a*b=: only calc(...) gets them right."""
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < 200:
        pairs.add((rng.randint(10, 99), rng.randint(10, 99)))
    return [(f"{a}*{b}=", str(a * b)) for a, b in sorted(pairs)]


def as_jsonl(items: list[tuple[str, str]]) -> str:
    return "".join(
        json.dumps({"query": q, "expected_outcome": {"answer": a}}) + "\n" for q, a in items
    )


def trainer_log(dev_runner: subprocess.Popen[bytes], namespace: str, job: str) -> list[Any]:
    """The JSON lines the job's trainer wrote on stdout, from the dev runner's pod sandbox
    (<workdir>/pods/<namespace>/<pod>/logs/stdout.log; one pod per job here)."""
    args = [str(a) for a in dev_runner.args]
    pods = Path(args[args.index("--workdir") + 1]) / "pods" / namespace
    logs = sorted(pods.glob(f"{job}-*/logs/stdout.log"))
    assert len(logs) == 1, f"expected one trainer pod of {job}, found {logs}"
    lines = logs[0].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def run_three_seeds(
    cluster: Cluster,
    namespace: str,
    dev_runner: subprocess.Popen[bytes],
    items: list[tuple[str, str]],
    *,
    config: dict[str, Any],
    evaluation: dict[str, Any],
    timeout: int,
    **spec: Any,
) -> None:
    create_queries(cluster, namespace, "queries", as_jsonl(items))
    for seed in SEEDS:
        manifest = trainingjob(
            f"seed-{seed}",
            queries="queries",
            mode=None,  # the default image: the real trainer
            config={**config, "seed": seed, "maxBudgetUsd": "5.00"},
            evaluation=evaluation,
            **spec,
        )
        apply(cluster, namespace, manifest)
    held_out_fraction = EvaluationSpec.model_validate(evaluation).held_out_fraction
    n_held_out = EvaluationSpec(held_out_fraction=held_out_fraction).held_out_count(len(items))
    figures = []
    for seed in SEEDS:
        name = f"seed-{seed}"
        done = wait_for(cluster, namespace, name, "Completed", timeout=timeout)
        # What the trainer trained on: every iteration's queries, none of them held out.
        split = split_queries(len(items), n_held_out, seed)
        log = trainer_log(dev_runner, namespace, name)
        iterations = [line for line in log if line.get("event") == "iteration"]
        assert len(iterations) == config["nIterations"]
        trained = {i for line in iterations for i in line["queryIndices"]}
        assert len(trained) > len(split.train) // 2  # a real record, not an empty one
        assert trained.isdisjoint(split.held_out), f"seed {seed} trained on held-out queries"
        assert trained <= set(split.train)
        evaluation_status = done["status"]["evaluation"]
        baseline, latest = evaluation_status["baseline"], evaluation_status["latest"]
        assert evaluation_status["heldOutQueries"] == n_held_out
        assert baseline["iteration"] == 0
        assert baseline["queriesEvaluated"] == n_held_out
        # The final checkpoint's evaluation, against the baseline the trainer measured.
        assert latest["iteration"] == config["nIterations"]
        assert latest["checkpointId"] == f"ckpt-{config['nIterations']:06d}"
        before = baseline["metrics"]["successRate"]
        after = latest["metrics"]["successRate"]
        comparison = latest["comparison"]
        figures.append(f"seed {seed}: {before:.2f} -> {after:.2f}, p = {comparison['pValue']:.2g}")
        assert after > before, figures[-1]
        assert comparison["successRateImprovement"] == pytest.approx(after - before)
        assert comparison["pValue"] == comparison["successPValue"]  # the metric: success_rate
        assert comparison["pValue"] < SIGNIFICANCE, figures[-1]
        assert conditions_of(done)["Improved"]["status"] == "True"
    print("held-out success, baseline -> final:", "; ".join(figures))


@pytest.mark.timeout(900)  # ~1-2 min on 2 idle cores; much longer beside other work
def test_addition_improves_on_held_out_queries_for_three_seeds(
    cluster: Cluster, namespace: str, dev_runner: subprocess.Popen[bytes]
) -> None:
    run_three_seeds(
        cluster,
        namespace,
        dev_runner,
        no_carry_additions(),
        config={
            "nIterations": 400,
            "batchSize": 16,
            "nTrajectoriesPerQuery": 8,
            "learningRate": 1e-3,
            "klCoef": 0.04,
            "maxNewTokens": 3,
            "checkpointInterval": 100,
        },
        # 110 held out (165 trained on; admission's least is 100): McNemar's test needs
        # enough discordant queries, and the CRD's 20 % of 275 would be 55. Measured held-out
        # success: seeds 0-2 0.02 -> 0.35, 0.00 -> 0.64, 0.03 -> 0.44. Before per-group
        # sampling seeds (8f5d295), seed 5 at 250 iterations had only 0.02 -> 0.06 (p = 0.18),
        # at 400 0.02 -> 0.32.
        evaluation={"heldOutFraction": 0.4, "interval": 50},
        policy={"model": "builtin:tiny", "warmStartSteps": 200},
        timeout=600,
    )


@pytest.mark.timeout(900)
def test_calculator_improves_on_held_out_queries_for_three_seeds(
    cluster: Cluster, namespace: str, dev_runner: subprocess.Popen[bytes]
) -> None:
    run_three_seeds(
        cluster,
        namespace,
        dev_runner,
        products(),
        config={
            "nIterations": 60,
            "batchSize": 8,
            "nTrajectoriesPerQuery": 8,
            "learningRate": 5e-4,
            "klCoef": 0.04,
            "maxNewTokens": 14,
            "maxStepsPerTrajectory": 3,
            "gamma": 0.9,
            "checkpointInterval": 100,
        },
        # 100 held out, 100 trained on. Sampled at the training temperature: the greedy
        # answer after the warm start (half its examples call calc, half answer at once)
        # either always or never calls the tool, so a greedy baseline is 0.0 or 1.0 by seed
        # (1.0 for seeds 3 and 4: nothing left to improve); sampled, it is 0.2-0.4.
        # Measured: seeds 0-2 0.27 -> 0.72, 0.29 -> 0.63, 0.37 -> 0.54 (p = 0.014). Before
        # per-group sampling seeds, seeds 3 and 4 0.20 -> 0.65, 0.34 -> 0.74, and 30
        # iterations were too few (seed 2 0.37 -> 0.33).
        evaluation={"heldOutFraction": 0.5, "interval": 20, "decoding": "temperature"},
        policy={"model": "builtin:tiny", "warmStartSteps": 600},
        environment={"type": "calculator", "malformedPenalty": 0.5},
        timeout=600,
    )
