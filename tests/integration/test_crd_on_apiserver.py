"""The CRD on a real kube-apiserver: installs, documents itself, defaults, and refuses bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import Cluster

SAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "samples"

VALID: dict[str, Any] = {
    "apiVersion": "training.agentcore.dev/v1alpha1",
    "kind": "TrainingJob",
    "metadata": {"name": "valid"},
    "spec": {"agentId": "support-bot", "queries": {"configMapRef": {"name": "queries"}}},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """VALID with the dotted `path` set to `value` (or removed when value is ...)."""
    manifest = copy.deepcopy(VALID)
    *parents, leaf = path.split(".")
    node = manifest
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return manifest


def _apply(cluster: Cluster, namespace: str, manifest: dict[str, Any]) -> tuple[int, str]:
    result = cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest), check=False
    )
    return result.returncode, result.stdout + result.stderr


def test_crd_is_established(cluster: Cluster) -> None:
    crd = cluster.get_json("crd", "trainingjobs.training.agentcore.dev")
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}  # type: ignore[index]
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"


def test_kubectl_explain_documents_the_budget(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "tj.spec.config.maxBudgetUsd").stdout
    assert "Most US dollars the run may spend" in out
    assert "<string>" in out


def test_short_name_and_category_reach_the_resource(cluster: Cluster, namespace: str) -> None:
    assert _apply(cluster, namespace, VALID)[0] == 0
    by_short = cluster.kubectl("get", "tj", "-n", namespace).stdout
    assert by_short.split()[:8] == [
        "NAME",
        "AGENT",
        "PHASE",
        "PROGRESS",
        "REWARD",
        "HELD-OUT",
        "COST",
        "AGE",
    ]
    assert "support-bot" in by_short
    assert "valid" in cluster.kubectl("get", "agentcore", "-n", namespace).stdout


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_sample_is_accepted_with_defaults_filled_in(
    cluster: Cluster, namespace: str, sample: Path
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(sample))
    for document in yaml.safe_load_all(sample.read_text()):
        if not document or document["kind"] != "TrainingJob":
            continue
        stored: Any = cluster.get_json("tj", document["metadata"]["name"], "-n", namespace)
        spec = stored["spec"]
        given = document["spec"]
        config = given.get("config", {})
        assert spec["config"]["nIterations"] == config.get("nIterations", 10)
        assert spec["config"]["maxBudgetUsd"] == config.get("maxBudgetUsd", "10.00")
        assert spec["config"]["checkpointInterval"] == config.get("checkpointInterval", 5)
        assert spec["config"]["gamma"] == config.get("gamma", 0.99)
        assert spec["policy"]["model"] == given.get("policy", {}).get("model", "builtin:tiny")
        assert spec["reward"]["type"] == given.get("reward", {}).get("type", "exact_match")
        # The held-out evaluation's defaults, with no queries source of its own.
        assert spec["evaluation"]["heldOutFraction"] == 0.2
        assert spec["evaluation"]["interval"] == 10
        assert "queries" not in spec["evaluation"]
        assert spec["pricing"]["computeUsdPerHour"] == given.get("pricing", {}).get(
            "computeUsdPerHour", "0.50"
        )
        assert spec["runtime"]["backoffLimit"] == given.get("runtime", {}).get("backoffLimit", 2)
        assert "requests" in spec["runtime"]["resources"]
        assert spec["cancel"] is False
        assert spec["suspend"] is False


INVALID: list[tuple[str, dict[str, Any], list[str]]] = [
    ("missing agentId", _with("spec.agentId", ...), ["spec.agentId", "Required value"]),
    ("agentId not label-like", _with("spec.agentId", "Support Bot!"), ["spec.agentId"]),
    ("missing queries", _with("spec.queries", ...), ["spec.queries", "Required value"]),
    (
        "two queries sources",
        _with(
            "spec.queries",
            {
                "configMapRef": {"name": "q"},
                "persistentVolumeClaim": {"claimName": "d", "path": "q"},
            },
        ),
        ["spec.queries", "exactly one of configMapRef or persistentVolumeClaim"],
    ),
    (
        "no queries source",
        _with("spec.queries", {}),
        ["spec.queries", "exactly one of configMapRef or persistentVolumeClaim"],
    ),
    ("nIterations 0", _with("spec.config", {"nIterations": 0}), ["spec.config.nIterations"]),
    (
        "nIterations 10001",
        _with("spec.config", {"nIterations": 10001}),
        ["spec.config.nIterations", "less than or equal to 10000"],
    ),
    ("batchSize 129", _with("spec.config", {"batchSize": 129}), ["spec.config.batchSize"]),
    (
        "group size 17",
        _with("spec.config", {"nTrajectoriesPerQuery": 17}),
        ["spec.config.nTrajectoriesPerQuery"],
    ),
    ("learningRate 0", _with("spec.config", {"learningRate": 0}), ["spec.config.learningRate"]),
    ("learningRate 2", _with("spec.config", {"learningRate": 2}), ["spec.config.learningRate"]),
    ("gamma 1.5", _with("spec.config", {"gamma": 1.5}), ["spec.config.gamma"]),
    (
        "checkpointInterval 0",
        _with("spec.config", {"checkpointInterval": 0}),
        ["spec.config.checkpointInterval"],
    ),
    (
        "maxStepsPerTrajectory 101",
        _with("spec.config", {"maxStepsPerTrajectory": 101}),
        ["spec.config.maxStepsPerTrajectory"],
    ),
    (
        "malformed money",
        _with("spec.config", {"maxBudgetUsd": "ten dollars"}),
        ["spec.config.maxBudgetUsd", "should match"],
    ),
    (
        "negative money",
        _with("spec.config", {"maxBudgetUsd": "-5.00"}),
        ["spec.config.maxBudgetUsd"],
    ),
    (
        "money as a float",
        _with("spec.config", {"maxBudgetUsd": 10.5}),
        ["spec.config.maxBudgetUsd", "string"],
    ),
    (
        "malformed price",
        _with("spec.pricing", {"computeUsdPerHour": "1e3"}),
        ["spec.pricing.computeUsdPerHour"],
    ),
    ("unknown config field", _with("spec.config", {"nIteration": 5}), ['"spec.config.nIteration"']),
    (
        "python reward without entry point",
        _with("spec.reward", {"type": "python"}),
        ["spec.reward.entryPoint", "entryPoint is required when type is python"],
    ),
    ("unknown reward type", _with("spec.reward", {"type": "vibes"}), ["spec.reward.type"]),
    ("bad policy model", _with("spec.policy", {"model": "gpt-5"}), ["spec.policy.model"]),
    (
        "queue name not a DNS label",
        _with("spec.runtime", {"queueName": "Bad_Queue"}),
        ["spec.runtime.queueName"],
    ),
]


@pytest.mark.parametrize(("case", "manifest", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_manifest_is_rejected_naming_the_field(
    cluster: Cluster, namespace: str, case: str, manifest: dict[str, Any], expected: list[str]
) -> None:
    code, output = _apply(cluster, namespace, manifest)
    assert code != 0, f"{case}: accepted\n{output}"
    for fragment in expected:
        assert fragment in output, f"{case}: {fragment!r} not in:\n{output}"
    assert cluster.kubectl("get", "tj", "-n", namespace, "-o", "name").stdout == ""


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("spec.config", {"nIterations": 20}, "config"),
        ("spec.agentId", "other-bot", "agentId"),
        ("spec.queries", {"configMapRef": {"name": "other"}}, "queries"),
        ("spec.policy", {"model": "builtin:other"}, "policy"),
        ("spec.runtime", {"backoffLimit": 5}, "runtime"),
    ],
)
def test_spec_change_after_creation_is_rejected(
    cluster: Cluster, namespace: str, path: str, value: Any, field: str
) -> None:
    assert _apply(cluster, namespace, VALID)[0] == 0
    code, output = _apply(cluster, namespace, _with(path, value))
    assert code != 0, output
    assert f"spec.{field}" in output
    assert f"{field} is immutable: create a new TrainingJob for a new run" in output


def test_cancel_and_suspend_may_change(cluster: Cluster, namespace: str) -> None:
    assert _apply(cluster, namespace, VALID)[0] == 0
    code, output = _apply(cluster, namespace, _with("spec.suspend", True))
    assert code == 0, output
    code, output = _apply(cluster, namespace, _with("spec.cancel", True))
    assert code == 0, output
    stored: Any = cluster.get_json("tj", "valid", "-n", namespace)
    assert stored["spec"]["cancel"] is True
    assert stored["spec"]["suspend"] is False


def test_status_is_a_subresource(cluster: Cluster, namespace: str) -> None:
    """A spec write cannot set status, so only the status subresource's writer does."""
    manifest = _with("status", {"phase": "Completed"})
    assert _apply(cluster, namespace, manifest)[0] == 0
    stored: Any = cluster.get_json("tj", "valid", "-n", namespace)
    assert "status" not in stored or "phase" not in stored["status"]
