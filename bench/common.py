"""Helpers of the benchmarks: the result file (DESIGN.md section 10) and its provenance.

Every benchmark script does, in this order:

    run = begin_run(__file__)          # first thing: commit, machine, load average at start
    ...                                # measure
    write_result("name", run=run, ..., config={"ours": {...}, "baseline": {...}},
                 baseline_versions={"trl": "1.16.0"})

so that each bench/results/<name>.json says what was measured and how (the script's
docstring as it was when it ran, the full configuration of both sides), on what (commit,
cores, memory, load average at start and at end, package versions, the baseline's
versions) and how to measure it again (`command`).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# Installed versions recorded in every result (whichever of these are installed).
PACKAGES = (
    "agentcore-training",
    "torch",
    "transformers",
    "trl",
    "accelerate",
    "datasets",
    "aiohttp",
    "kopf",
    "kubernetes-asyncio",
    "uvloop",
    "pydantic",
)
# Environment variables that change what a benchmark measures.
ENVIRONMENT = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "KUBECONFIG",
    "BENCH_COUNT",
    "BENCH_ROUNDS",
    "BENCH_ITERATIONS",
    "BENCH_SEEDS",
    "BENCH_LORA_ITERATIONS",
    "BENCH_EVAL_ITEMS",
    "BENCH_GET_REQUESTS",
    "BENCH_LIST_REQUESTS",
)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def commit() -> dict[str, Any]:
    """HEAD of the checkout and whether tracked files differ from it (a dirty tree)."""
    head = _git("rev-parse", "HEAD")
    return {
        "id": head or "unknown",
        "subject": _git("log", "-1", "--format=%s") if head else "",
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of those of `names` that are installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class Run:
    """What begin_run noted when the benchmark started."""

    script: str
    started: str
    started_monotonic: float
    load_average_start: list[float]
    commit: dict[str, Any]
    method: str = ""
    argv: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        """The one command that reruns this benchmark alone, from the repository root."""
        return f".venv/bin/python {self.script}"


def begin_run(script: str) -> Run:
    """Note the start of a benchmark; call it first (pass `__file__`)."""
    path = Path(script).resolve()
    try:
        relative = str(path.relative_to(REPO))
    except ValueError:
        relative = str(path)
    return Run(
        script=relative,
        started=_now(),
        started_monotonic=time.monotonic(),
        load_average_start=load_average(),
        commit=commit(),
        method=ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "",
        argv=list(sys.argv[1:]),
    )


def machine(run: Run) -> dict[str, Any]:
    """Cores, memory, Python, the platform, and the load average at start and end."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    return {
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": run.load_average_start,
        "load_average_end": load_average(),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile (0 <= q <= 1) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    """n, p50, p99, min and max of a sample of latencies in ms; a negative one is an error."""
    negative = [x for x in latencies_ms if x < 0]
    if negative:
        raise ValueError(
            f"{len(negative)} negative latencies (min {min(negative):.3f} ms): "
            "the clocks of this measurement are wrong"
        )
    return {
        "n": len(latencies_ms),
        "p50_ms": round(statistics.median(latencies_ms), 3),
        "p99_ms": round(percentile(latencies_ms, 0.99), 3),
        "min_ms": round(min(latencies_ms), 3),
        "max_ms": round(max(latencies_ms), 3),
    }


def _check_config(config: Mapping[str, Any], has_baseline: bool) -> None:
    sides = ("ours", "baseline") if has_baseline else ("ours",)
    missing = [side for side in sides if not config.get(side)]
    if missing:
        raise ValueError(f"config must give the full configuration of {missing}")


def result_document(
    name: str,
    *,
    run: Run,
    unit: str,
    higher_is_better: bool,
    ours: float,
    baseline: float | None,
    baseline_name: str,
    details: Mapping[str, Any],
    config: Mapping[str, Any],
    baseline_versions: Mapping[str, str],
) -> dict[str, Any]:
    """The result as a dict; `ratio > 1` always means we are ahead (null: no baseline)."""
    figures = [ours] if baseline is None else [ours, baseline]
    if not all(math.isfinite(x) and x > 0 for x in figures):
        raise ValueError(f"{name}: figures must be finite and positive, got {figures}")
    _check_config(config, baseline is not None)
    ratio = None
    if baseline is not None:
        ratio = round(ours / baseline if higher_is_better else baseline / ours, 3)
    return {
        "name": name,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "ours": round(ours, 4),
        "baseline": None if baseline is None else round(baseline, 4),
        "baseline_name": baseline_name,
        "ratio": ratio,
        "details": dict(details),
        "config": dict(config),
        "versions": {"baseline": dict(baseline_versions), "installed": package_versions()},
        "machine": machine(run),
        "commit": run.commit,
        "command": run.command,
        "method": run.method,
        "argv": run.argv,
        "environment": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ},
        "when": run.started,
        "finished": _now(),
        "seconds": round(time.monotonic() - run.started_monotonic, 1),
    }


def write_result(name: str, **fields: Any) -> Path:
    """Write bench/results/<name>.json (fields: those of result_document) and return it."""
    result = result_document(name, **fields)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
