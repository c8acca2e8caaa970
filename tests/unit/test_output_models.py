"""spec.output, the manifest, and status.output from the trainer's report to get_status (pure)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from agentcore_training.api.contract import ProgressReport, TerminationSummary
from agentcore_training.api.output import OutputManifest, OutputSpec
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.api.status import OutputStatus
from agentcore_training.controller.progress import parse_summary, report_status
from agentcore_training.rpc import results
from agentcore_training.rpc.protocol import dumps
from agentcore_training.rpc.store import from_api

OUTPUT_STATUS: dict[str, Any] = {
    "kept": True,
    "claimName": "models",
    "path": "adder/v1",
    "manifest": "adder/v1/manifest.json",
    "format": "full",
    "final": {"checkpointId": "ckpt-000004", "iteration": 4, "folder": "adder/v1/final"},
    "best": {"checkpointId": "ckpt-000002", "iteration": 2, "folder": "adder/v1/best"},
    "message": "final and best written",
}


def _spec(**fields: Any) -> dict[str, Any]:
    return {"agentId": "adder", "queries": {"configMapRef": {"name": "q"}}, **fields}


def test_spec_output_names_a_claim_and_a_folder() -> None:
    spec = TrainingJobSpec.model_validate(_spec(output={"claimName": "models", "path": "adder/v1"}))
    assert spec.output == OutputSpec(claim_name="models", path="adder/v1", merge=False)
    assert spec.to_wire()["output"] == {"claimName": "models", "path": "adder/v1", "merge": False}
    assert TrainingJobSpec.model_validate(_spec()).output is None


@pytest.mark.parametrize(
    "path", ["/abs", "../up", "a/../b", "a/..", ".", "a/./b", ".hidden", "a//b", "a/", ""]
)
def test_an_output_path_that_leaves_its_folder_is_refused(path: str) -> None:
    with pytest.raises(ValidationError, match="path"):
        OutputSpec(claim_name="models", path=path)


@pytest.mark.parametrize("path", ["v1", "adder/v1", "team_a/adder-2.0/final.run"])
def test_relative_output_paths_are_admitted(path: str) -> None:
    assert OutputSpec(claim_name="models", path=path).path == path


def test_the_manifest_round_trips_and_finds_its_models() -> None:
    manifest = OutputManifest.model_validate(
        {
            "agentId": "adder",
            "baseModel": "builtin:tiny",
            "state": "completed",
            "iteration": 4,
            "totalIterations": 4,
            "costUsd": "0.0123",
            "budgetUsd": "1.00",
            "createdAt": "2026-12-02T03:00:00Z",
            "models": [
                {
                    "role": "final",
                    "checkpointId": "ckpt-000004",
                    "iteration": 4,
                    "folder": "final",
                    "format": "full",
                    "selectedBy": "latest",
                },
                {
                    "role": "best",
                    "checkpointId": "ckpt-000004",
                    "iteration": 4,
                    "folder": "final",
                    "format": "full",
                    "selectedBy": "trainingReward",
                    "score": 0.5,
                },
            ],
            "files": [
                {"path": "final/config.json", "sizeBytes": 10, "sha256": "a" * 64},
                {"path": "final/model.safetensors", "sizeBytes": 32, "sha256": "b" * 64},
            ],
        }
    )
    again = OutputManifest.model_validate_json(manifest.model_dump_json(by_alias=True))
    assert again == manifest
    assert again.cost_usd == Decimal("0.0123")
    assert again.model_of("best").folder == "final"  # the best is the final: one folder
    assert again.total_bytes == 42
    with pytest.raises(ValidationError, match="sha256"):
        OutputManifest.model_validate(
            {**manifest.to_wire(), "files": [{"path": "x", "sizeBytes": 1, "sha256": "nope"}]}
        )


def _report(**fields: Any) -> ProgressReport:
    return ProgressReport.model_validate(
        {
            "iteration": 4,
            "totalIterations": 4,
            "state": "completed",
            "costUsd": "0.10",
            "budgetUsd": "1.00",
            **fields,
        }
    )


def test_the_final_report_sets_status_output_and_the_summary_carries_it() -> None:
    report = _report(output=OUTPUT_STATUS)
    assert report_status(report, None).to_patch()["output"] == OUTPUT_STATUS
    summary = TerminationSummary.of_report(report, reason="Completed", exit_code=0)
    message = summary.to_message().decode()
    assert json.loads(message)["output"] == OUTPUT_STATUS
    parsed = parse_summary(message)
    assert parsed is not None
    assert parsed.output == OutputStatus.model_validate(OUTPUT_STATUS)
    assert "output" not in report_status(_report(), None).to_patch()  # running reports leave it


def test_get_status_returns_status_output_in_snake_case() -> None:
    tj = from_api(
        {
            "apiVersion": "training.agentcore.dev/v1alpha1",
            "kind": "TrainingJob",
            "metadata": {"name": "adder-run", "namespace": "team-a", "uid": "u-1"},
            "spec": _spec(output={"claimName": "models", "path": "adder/v1"}),
            "status": {"phase": "Completed", "output": OUTPUT_STATUS},
        }
    )
    result = json.loads(dumps(results.status_result(tj).to_json()))
    assert result["output"]["claim_name"] == "models"
    assert result["output"]["final"] == {
        "checkpoint_id": "ckpt-000004",
        "iteration": 4,
        "folder": "adder/v1/final",
        "merged_folder": None,
    }
    assert result["output"]["manifest"] == "adder/v1/manifest.json"
    not_kept = from_api(
        {**tj.model_dump(by_alias=True), "status": {"output": {"kept": False, "message": "x"}}}
    )
    assert json.loads(dumps(results.status_result(not_kept).to_json()))["output"]["kept"] is False
