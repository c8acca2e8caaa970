"""The CRD generated from the models: structural, documented, current."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentcore_training.api.crd import build_crd, render_crd

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / "trainingjobs.training.agentcore.dev.yaml"


def _root() -> dict[str, Any]:
    schema: dict[str, Any] = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def test_every_field_has_a_description() -> None:
    missing = [
        path
        for path, node in _walk(_root(), "")
        if not path.endswith(("[]", "{}")) and path != ".metadata" and not node.get("description")
    ]
    assert missing == []


def test_schema_is_structural() -> None:
    for path, node in _walk(_root(), ""):
        if node.get("x-kubernetes-int-or-string"):
            continue
        assert "type" in node, f"{path} has no type"
        assert "anyOf" not in node, f"{path} is not structural"
        assert "oneOf" not in node, f"{path} is not structural"
        assert "$ref" not in node, path


def test_defaults_reach_omitted_objects() -> None:
    spec = _root()["properties"]["spec"]["properties"]
    for name in ("config", "policy", "reward", "pricing", "runtime"):
        assert spec[name]["default"] == {}, name
    assert spec["config"]["properties"]["maxBudgetUsd"]["default"] == "10.00"
    assert spec["config"]["properties"]["nIterations"]["default"] == 10
    assert spec["runtime"]["properties"]["resources"]["default"] == {}


def test_status_assumes_nothing() -> None:
    for path, node in _walk(_root()["properties"]["status"], "status"):
        assert "default" not in node, path


def test_cel_rules_keep_the_spec_immutable_except_cancel_and_suspend() -> None:
    rules = _root()["properties"]["spec"]["x-kubernetes-validations"]
    guarded = {rule["fieldPath"].lstrip(".") for rule in rules}
    spec_fields = set(_root()["properties"]["spec"]["properties"])
    assert spec_fields - guarded == {"cancel", "suspend"}


def test_resource_identity_printer_columns_and_subresources() -> None:
    crd = build_crd()
    names = crd["spec"]["names"]
    assert names["shortNames"] == ["tj"]
    assert set(names["categories"]) == {"agentcore", "all"}
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if "priority" not in c]
    assert columns == ["Agent", "Phase", "Progress", "Reward", "Held-Out", "Cost", "Age"]
    assert not any("conditions" in c["jsonPath"] for c in version["additionalPrinterColumns"])


def test_checked_in_crd_is_current() -> None:
    assert CRD_FILE.read_text() == render_crd()


def _check_with(package_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcore_training.api.crd", "--check", str(CRD_FILE)],
        env={**os.environ, "PYTHONPATH": str(package_root)},
        cwd=package_root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("default=10, ge=1, le=10000", "default=11, ge=1, le=10000"),
        ('description="Number of GRPO iterations (outer steps)."', 'description="Iterations."'),
    ],
)
def test_check_fails_after_a_model_change_without_regenerating(
    tmp_path: Path, old: str, new: str
) -> None:
    """The same check as `make check-crds`, run on a copy of the package with one edit."""
    copy = tmp_path / "agentcore_training"
    shutil.copytree(REPO / "operator" / "agentcore_training", copy)
    assert _check_with(tmp_path).returncode == 0
    spec_py = copy / "api" / "spec.py"
    source = spec_py.read_text()
    assert old in source
    spec_py.write_text(source.replace(old, new, 1))
    result = _check_with(tmp_path)
    assert result.returncode == 1
    assert "is stale: run 'make crds'" in result.stderr


def test_rendered_yaml_parses_back() -> None:
    assert yaml.safe_load(render_crd()) == build_crd()
