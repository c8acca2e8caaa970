"""start_grpo's `output` param: checked, mapped onto spec.output (a default path: the job's
name), refused clearly when wrong, absent for old clients; the CLI's --output and --merge;
get_status's output section for people."""

from __future__ import annotations

from typing import Any

import pytest

from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import OutputStatus
from agentcore_training.rpc import manifests, params, render
from agentcore_training.rpc.cli import CliError, parse_output, parser
from agentcore_training.rpc.errors import INVALID_PARAMS, RpcError
from tests.unit.test_output_models import OUTPUT_STATUS


def _queries() -> list[dict[str, Any]]:
    return [{"query": f"{i}+1", "expected_outcome": {"answer": str(i + 1)}} for i in range(100)]


def _spec(**extra: Any) -> dict[str, Any]:
    parsed = params.parse_start_grpo({"agent_id": "calc", "training_queries": _queries(), **extra})
    spec: dict[str, Any] = manifests.trainingjob_manifest("calc-x1y2z", "ns", parsed, "me")["spec"]
    return spec


@pytest.mark.parametrize(
    ("given", "wanted"),
    [
        ({"claim_name": "models"}, {"claimName": "models", "path": "calc-x1y2z"}),
        (
            {"claim_name": "models", "path": "calc/v1", "merge": True},
            {"claimName": "models", "path": "calc/v1", "merge": True},
        ),
        ({"claimName": "models", "path": "v2"}, {"claimName": "models", "path": "v2"}),
    ],
)
def test_output_maps_onto_spec_output(given: dict[str, Any], wanted: dict[str, Any]) -> None:
    spec = _spec(output=given)
    assert spec["output"] == wanted
    # What the shim writes is a valid TrainingJob spec, default path included.
    job = TrainingJob.model_validate({"metadata": {"name": "calc-x1y2z"}, "spec": spec})
    assert job.spec.output is not None
    assert job.spec.output.path == wanted["path"]


def test_old_clients_see_no_change() -> None:
    assert "output" not in _spec()
    assert _spec(output=None) == _spec()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({"claim_name": "Models_1"}, "Invalid output.claim_name: must be a Kubernetes object name"),
        ({"claim_name": "m", "path": "../up"}, "Invalid output.path: must be a relative folder"),
        ({"claim_name": "m", "path": "/abs"}, "Invalid output.path: must be a relative folder"),
        ({"claim_name": "m", "path": "a/.hidden"}, "Invalid output.path: must be a relative"),
        ({"path": "v1"}, "Invalid output.claim_name: Field required"),
        ({"claim_name": "m", "pvc": "m"}, "Unknown parameter: output.pvc"),
        ("models", 'Invalid output: must be an object (got "models")'),
        ({"claim_name": "m", "merge": "perhaps"}, "Invalid output.merge"),
    ],
)
def test_bad_output_is_a_clear_invalid_params(output: Any, message: str) -> None:
    with pytest.raises(RpcError) as caught:
        _spec(output=output)
    assert caught.value.code == INVALID_PARAMS
    assert caught.value.message.startswith(message), caught.value.message


def test_cli_output_flag() -> None:
    args = parser().parse_args(
        ["start", "--agent-id", "b", "--queries", "q", "--output", "models:b/v1", "--merge"]
    )
    assert parse_output(args.output, args.merge) == {
        "claim_name": "models",
        "path": "b/v1",
        "merge": True,
    }
    assert parse_output("models", False) == {"claim_name": "models"}
    plain = parser().parse_args(["start", "--agent-id", "b", "--queries", "q"])
    assert parse_output(plain.output, plain.merge) is None
    for bad, merge in ((":v1", False), (None, True)):
        with pytest.raises(CliError):
            parse_output(bad, merge)


def test_status_says_where_the_model_is() -> None:
    kept = OutputStatus.model_validate(OUTPUT_STATUS).to_snake()  # as get_status gives it
    assert render.output_line(kept) == (
        "output: PVC models, final adder/v1/final (ckpt-000004), best adder/v1/best "
        "(ckpt-000002), full weights; manifest adder/v1/manifest.json"
    )
    assert render.output_line({"kept": False, "message": "no spec.output"}) == (
        "output: no spec.output"
    )
