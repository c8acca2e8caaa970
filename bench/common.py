"""Helpers of the benchmarks: the result file in the format of DESIGN.md section 10."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(
    name: str,
    *,
    unit: str,
    higher_is_better: bool,
    ours: float,
    baseline: float,
    baseline_name: str,
    details: dict[str, Any],
) -> Path:
    """Write bench/results/<name>.json; ratio > 1 always means we are ahead."""
    ratio = ours / baseline if higher_is_better else baseline / ours
    result = {
        "name": name,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "ours": round(ours, 4),
        "baseline": round(baseline, 4),
        "baseline_name": baseline_name,
        "ratio": round(ratio, 3),
        "details": details,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "when": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
