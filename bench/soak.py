"""Soak: TrainingJobs of the real trainer through the operator and the dev runner, with faults.

About 30 TrainingJobs (builtin:tiny, a few iterations each; a third with budgets that bind
mid-run, a tenth cancelled mid-run) run on the loopback control plane, at most
`--concurrency` at a time. Meanwhile the soak SIGKILLs running trainer processes
mid-iteration (the Job retries the pod; the attempt handshake carries the spend over),
SIGKILLs and restarts the operator twice, and restarts kube-apiserver once
(tools/controlplane/restart-apiserver.sh: same flags, etcd keeps the data).

Every second it reads every TrainingJob and Job. It fails (and says so in the JSON) on:
an overrun (final status.cost.costUsd above spec.config.maxBudgetUsd, or a BudgetExceeded
condition), a stuck job (not terminal by the deadline), a duplicate (a TrainingJob that
ever owned two Jobs), a cost regression (a costUsd read lower than one read before), and a
lost summary (a run that ended FinalSummaryLost: its end was not read).
There is no baseline: the figure is the wall time; the counts are the result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import begin_run, write_result
from tests.support.cluster import CONTROLPLANE, Cluster, running_cluster
from tests.support.processes import OperatorProcess, running_dev_runner, running_operator
from tests.support.trainingjobs import addition_queries, create_queries, trainingjob

from agentcore_training.api.contract import ENV_JOB_ID

TERMINAL = {"Completed", "Failed", "Cancelled"}
QUERIES = "soak-queries"
ITERATIONS = 20


@dataclass
class Seen:
    """What the soak observed of one TrainingJob."""

    name: str
    budget: Decimal
    uid: str = ""
    phase: str = ""
    reason: str = ""
    costs: list[Decimal] = field(default_factory=list)
    jobs: set[str] = field(default_factory=set)
    attempt: int = 0
    iteration: int = 0
    exceeded: bool = False
    killed: int = 0
    cancelled: bool = False
    terminal_at: float | None = None


def manifest(index: int) -> dict[str, Any]:
    """The index-th TrainingJob: a third with a budget that binds mid-run."""
    tight = index % 3 == 0
    config: dict[str, Any] = {
        "nIterations": ITERATIONS,
        "batchSize": 4,
        "nTrajectoriesPerQuery": 4,
        "maxNewTokens": 4,
        "checkpointInterval": 2,
        "seed": index,
        "maxBudgetUsd": "0.25" if tight else "10.00",
    }
    spec: dict[str, Any] = {"evaluation": {"heldOutFraction": 0.2 if index % 2 else 0}}
    if tight:
        # A cent a second: binds mid-run, after the start (about 10 s on a busy machine).
        spec["pricing"] = {"computeUsdPerHour": "36"}
    return trainingjob(f"soak-{index:02d}", queries=QUERIES, mode=None, config=config, **spec)


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def trainer_processes(runner_pid: int) -> dict[str, int]:
    """TrainingJob uid -> PID of its running trainer, among the dev runner's descendants."""
    found: dict[str, int] = {}
    for pid in _children(runner_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"agentcore-trainer" not in cmdline:
            continue
        prefix = f"{ENV_JOB_ID}=".encode()
        for item in environ:
            if item.startswith(prefix):
                found[item[len(prefix) :].decode()] = pid
    return found


def _get(cluster: Cluster, *args: str) -> list[dict[str, Any]] | None:
    """Items of a `kubectl get -o json`, or None while the apiserver does not answer."""
    result = cluster.kubectl("get", *args, "-o", "json", check=False, timeout=20)
    if result.returncode != 0:
        return None
    items: list[dict[str, Any]] = json.loads(result.stdout).get("items", [])
    return items


def observe(cluster: Cluster, namespace: str, seen: dict[str, Seen], now: float) -> bool:
    """Read every TrainingJob and Job once; False when the apiserver did not answer."""
    tjs = _get(cluster, "trainingjobs", "-n", namespace)
    jobs = _get(cluster, "jobs.batch", "-n", namespace)
    if tjs is None or jobs is None:
        return False
    by_uid: dict[str, Seen] = {}
    for tj in tjs:
        record = seen.get(tj["metadata"]["name"])
        if record is None:
            continue
        record.uid = tj["metadata"]["uid"]
        by_uid[record.uid] = record
        status = tj.get("status") or {}
        record.phase = status.get("phase") or ""
        record.attempt = max(record.attempt, int(status.get("attempt") or 0))
        record.iteration = int((status.get("progress") or {}).get("currentIteration") or 0)
        cost = (status.get("cost") or {}).get("costUsd")
        if cost is not None:
            record.costs.append(Decimal(str(cost)))
        for condition in status.get("conditions") or []:
            if condition.get("type") == "BudgetExceeded" and condition.get("status") == "True":
                record.exceeded = True
            if condition.get("type") == record.phase:
                record.reason = condition.get("reason") or ""
        if record.phase in TERMINAL and record.terminal_at is None:
            record.terminal_at = now
    for job in jobs:
        for owner in job["metadata"].get("ownerReferences") or []:
            if owner.get("uid") in by_uid:
                by_uid[owner["uid"]].jobs.add(job["metadata"]["uid"])
    return True


def create(cluster: Cluster, namespace: str, body: dict[str, Any]) -> bool:
    """Create one TrainingJob; False when refused for now (operator or apiserver down)."""
    result = cluster.kubectl(
        "create", "-n", namespace, "-f", "-", stdin=json.dumps(body), check=False, timeout=20
    )
    return result.returncode == 0 or "AlreadyExists" in result.stderr


def restart_operator(operator: OperatorProcess) -> None:
    operator.stop(kill=True)
    time.sleep(2)
    operator.start()


def restart_apiserver(state_dir: Path) -> None:
    subprocess.run(
        ["bash", str(CONTROLPLANE / "restart-apiserver.sh"), str(state_dir)],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=12.0, help="seconds between kills")
    parser.add_argument("--deadline", type=float, default=2400.0, help="seconds for the run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = begin_run(__file__)
    rng = random.Random(args.seed)  # noqa: S311 - fault schedule, not a secret
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    faults: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="agentcore-soak-"))
    state_dir = work / "controlplane"
    if os.environ.get("KUBECONFIG"):
        sys.exit("the soak restarts kube-apiserver: run it on its own loopback control plane")
    with (
        running_cluster(state_dir) as cluster,
        running_dev_runner(cluster, work / "runner") as runner,
        running_operator(cluster, work / "operator.log") as operator,
        cluster.namespace("soak") as namespace,
    ):
        create_queries(cluster, namespace, QUERIES, addition_queries(125))
        bodies = [manifest(i) for i in range(args.jobs)]
        seen = {
            b["metadata"]["name"]: Seen(
                b["metadata"]["name"], Decimal(b["spec"]["config"]["maxBudgetUsd"])
            )
            for b in bodies
        }
        pending = list(bodies)
        restart_operator_at = {round(args.jobs * 0.3), round(args.jobs * 0.7)}
        restart_apiserver_at = round(args.jobs * 0.5)
        started = time.monotonic()
        last_kill = started
        created = 0
        while time.monotonic() - started < args.deadline:
            now = time.monotonic()
            if not observe(cluster, namespace, seen, now):
                time.sleep(1)
                continue
            active = [s for s in seen.values() if s.uid and s.phase not in TERMINAL]
            if (
                pending
                and len(active) < args.concurrency
                and create(cluster, namespace, pending[0])
            ):
                pending.pop(0)
                created += 1
                if created in restart_operator_at:
                    restart_operator_at.discard(created)
                    restart_operator(operator)
                    faults.append({"at_s": round(now - started, 1), "fault": "operator SIGKILL"})
                if created == restart_apiserver_at:
                    restart_apiserver(state_dir)
                    faults.append({"at_s": round(now - started, 1), "fault": "apiserver restart"})
            # Mid-run: past the first iteration, well before the last.
            running = [
                s for s in active if s.phase == "Running" and 2 <= s.iteration <= ITERATIONS - 4
            ]
            for record in running:
                if record.name.endswith("7") and not record.cancelled and record.iteration >= 2:
                    patch = json.dumps({"spec": {"cancel": True}})
                    result = cluster.kubectl(
                        "patch",
                        "tj",
                        record.name,
                        "-n",
                        namespace,
                        "--type",
                        "merge",
                        "-p",
                        patch,
                        check=False,
                    )
                    if result.returncode == 0:
                        record.cancelled = True
                        faults.append(
                            {"at_s": round(now - started, 1), "fault": f"cancel {record.name}"}
                        )
            if now - last_kill >= args.kill_every:
                victims = [s for s in running if s.killed == 0 and not s.cancelled]
                processes = trainer_processes(runner.pid)
                victims = [s for s in victims if s.uid in processes]
                if victims:
                    victim = rng.choice(victims)
                    os.kill(processes[victim.uid], signal.SIGKILL)
                    victim.killed += 1
                    last_kill = now
                    faults.append(
                        {
                            "at_s": round(now - started, 1),
                            "fault": f"trainer SIGKILL {victim.name}",
                            "iteration": victim.iteration,
                        }
                    )
            if not pending and all(s.phase in TERMINAL for s in seen.values()):
                break
            time.sleep(1)
        wall = time.monotonic() - started
        observe(cluster, namespace, seen, time.monotonic())
        # Kept for a post-mortem (the namespace goes with the context).
        objects = cluster.kubectl(
            "get", "trainingjobs,jobs,pods,events", "-n", namespace, "-o", "json", check=False
        )
        (work / "final-objects.json").write_text(objects.stdout)
        print(f"logs and objects kept in {work}", file=sys.stderr)
    jobs: list[dict[str, Any]] = []
    for record in seen.values():
        final = record.costs[-1] if record.costs else Decimal(0)
        regressions = sum(1 for a, b in zip(record.costs, record.costs[1:], strict=False) if b < a)
        jobs.append(
            {
                "name": record.name,
                "phase": record.phase,
                "reason": record.reason,
                "cost_usd": str(final),
                "budget_usd": str(record.budget),
                "overrun": final > record.budget or record.exceeded,
                "attempts": record.attempt,
                "jobs_owned": len(record.jobs),
                "trainer_sigkills": record.killed,
                "cancelled": record.cancelled,
                "cost_regressions": regressions,
                "stuck": record.phase not in TERMINAL,
            }
        )
    counts: dict[str, Any] = {
        "jobs": len(jobs),
        "overruns": sum(j["overrun"] for j in jobs),
        "stuck": sum(j["stuck"] for j in jobs),
        "duplicates": sum(j["jobs_owned"] > 1 for j in jobs),
        "cost_regressions": sum(j["cost_regressions"] for j in jobs),
        "summaries_lost": sum(j["reason"] == "FinalSummaryLost" for j in jobs),
        "phases": {
            p: sum(j["phase"] == p for j in jobs) for p in sorted({j["phase"] for j in jobs})
        },
        "faults": {
            "trainer_sigkills": sum(f["fault"].startswith("trainer") for f in faults),
            "operator_restarts": sum(f["fault"].startswith("operator") for f in faults),
            "apiserver_restarts": sum(f["fault"].startswith("apiserver") for f in faults),
            "cancels": sum(f["fault"].startswith("cancel") for f in faults),
        },
        "retried_jobs": sum(j["attempts"] > 1 for j in jobs),
    }
    path = write_result(
        "soak",
        run=run,
        unit="s",
        higher_is_better=False,
        ours=wall,
        baseline=None,
        baseline_name="none: the counts are the result (overruns, stuck, duplicates must be 0)",
        details={**counts, "wall_s": round(wall, 1), "fault_log": faults, "per_job": jobs},
        config={
            "ours": {
                "jobs": args.jobs,
                "concurrency": args.concurrency,
                "kill_every_s": args.kill_every,
                "deadline_s": args.deadline,
                "seed": args.seed,
                "trainingjob": manifest(0),
                "runner": "agentcore-dev-runner (pods as local processes), real agentcore-trainer",
            }
        },
        baseline_versions={},
    )
    print(json.dumps(counts))
    print(path)
    bad = sum(
        counts[k] for k in ("overruns", "stuck", "duplicates", "cost_regressions", "summaries_lost")
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
