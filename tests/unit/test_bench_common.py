"""bench/common.py: every result says what was measured, on what, and how to rerun it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench import common

REPO = Path(__file__).resolve().parents[2]


def _document(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "run": common.begin_run(str(REPO / "bench" / "operator_burst.py")),
        "unit": "ms",
        "higher_is_better": False,
        "ours": 2.0,
        "baseline": 5.0,
        "baseline_name": "the apiserver",
        "details": {"n": 3},
        "config": {"ours": {"concurrency": 8}, "baseline": {"concurrency": 8}},
        "baseline_versions": {"kube-apiserver": "v1.34.4"},
    }
    fields.update(overrides)
    return common.result_document("x", **fields)


def test_a_result_carries_its_provenance() -> None:
    doc = _document()
    assert doc["ratio"] == 2.5  # lower is better: baseline / ours
    assert len(doc["commit"]["id"]) == 40
    assert isinstance(doc["commit"]["dirty"], bool)
    assert doc["command"] == ".venv/bin/python bench/operator_burst.py"
    machine = doc["machine"]
    assert machine["cpus"] >= 1
    assert machine["usable_cpus"] >= 1
    assert len(machine["load_average_start"]) == 3
    assert len(machine["load_average_end"]) == 3
    assert doc["versions"]["baseline"] == {"kube-apiserver": "v1.34.4"}
    assert "pydantic" in doc["versions"]["installed"]
    assert doc["config"]["baseline"] == {"concurrency": 8}
    json.dumps(doc)  # a JSON document as it is


def test_higher_is_better_ratio() -> None:
    assert _document(higher_is_better=True, ours=6.0, baseline=3.0)["ratio"] == 2.0


def test_both_sides_configuration_is_required() -> None:
    with pytest.raises(ValueError, match="baseline"):
        _document(config={"ours": {"a": 1}})
    with pytest.raises(ValueError, match="ours"):
        _document(config={"ours": {}, "baseline": {"a": 1}})


def test_without_a_baseline_there_is_no_ratio() -> None:
    doc = _document(baseline=None, config={"ours": {"a": 1}})
    assert doc["ratio"] is None


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_figures_must_be_finite_and_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="finite and positive"):
        _document(ours=bad)


def test_a_negative_latency_is_an_error_not_zero() -> None:
    with pytest.raises(ValueError, match="negative latencies"):
        common.latency_summary([3.0, -0.5, 1.0])


def test_latency_summary_and_percentile() -> None:
    sample = [float(x) for x in range(1, 101)]
    summary = common.latency_summary(sample)
    assert summary == {"n": 100, "p50_ms": 50.5, "p99_ms": 99.0, "min_ms": 1.0, "max_ms": 100.0}
    assert common.percentile([5.0], 0.99) == 5.0
    with pytest.raises(ValueError, match="empty"):
        common.percentile([], 0.5)
