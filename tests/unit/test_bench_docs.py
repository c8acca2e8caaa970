"""docs/benchmarks.md is generated from bench/published/*.json and must be current."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from bench import gen_docs

REPO = Path(__file__).resolve().parents[2]


def test_benchmarks_page_is_current() -> None:
    assert gen_docs.main(["--check"]) == 0, "docs/benchmarks.md is stale: run 'make bench-docs'"


def test_the_page_names_each_published_file_with_its_hash() -> None:
    text = (REPO / "docs" / "benchmarks.md").read_text()
    named = dict(re.findall(r"Result file: `([^`]+)` \(sha256 `([0-9a-f]{16})`\)", text))
    published = sorted((REPO / "bench" / "published").glob("*.json"))
    assert published, "no published results"
    assert sorted(named) == [str(p.relative_to(REPO)) for p in published]
    for path in published:
        assert (
            named[str(path.relative_to(REPO))] == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        )


def test_each_published_result_has_provenance_and_a_rerun_command() -> None:
    for path in sorted((REPO / "bench" / "published").glob("*.json")):
        result = json.loads(path.read_text())
        assert len(result["commit"]["id"]) == 40, path
        assert {"load_average_start", "load_average_end", "cpus"} <= result["machine"].keys()
        assert result["config"]["ours"], path
        if result["baseline"] is None:  # a soak: its counts are the result, no speed claim
            assert result["ratio"] is None, path
            assert result["baseline_name"].startswith("none: "), path
        else:
            assert result["versions"]["baseline"], path
            assert result["config"]["baseline"], path
        assert result["command"].startswith(".venv/bin/python bench/"), path
        assert (REPO / result["command"].split()[-1]).exists(), path
        assert f"`{result['command']}`" in (REPO / "docs" / "benchmarks.md").read_text()


def test_a_stale_page_is_detected(tmp_path: Path) -> None:
    published = sorted((REPO / "bench" / "published").glob("*.json"))
    for path in published:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    first = published[0]
    changed = json.loads(first.read_text())
    changed["ours"] = changed["ours"] * 2
    (tmp_path / first.name).write_text(json.dumps(changed))
    assert gen_docs.render(tmp_path) != gen_docs.render()
