"""Print the benchmark results as a table (the one in docs/benchmarks.md is made from it)."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    print(f"{'benchmark':<22} {'unit':<38} {'ours':>10} {'baseline':>10} {'ratio':>7}")
    for row in rows:
        print(
            f"{row['name']:<22} {row['unit']:<38} {row['ours']:>10.4g} "
            f"{row['baseline']:>10.4g} {row['ratio']:>7.3f}"
        )
    print(
        "ratio > 1 means ours is ahead; baselines: "
        + "; ".join(f"{r['name']}: {r['baseline_name']}" for r in rows)
    )


if __name__ == "__main__":
    main()
