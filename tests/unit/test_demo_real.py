"""`make demo-real`'s request, without running it: the client arguments it passes parse into
a start_grpo call whose TrainingJob is what the demo says (SmolLM2 by hf: path, chat
template, LoRA, 40 of 100 queries held out, the output claim with merged weights) and what
its operator admits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentcore_training.api.output import OutputSpec
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.rpc import cli, manifests, params
from agentcore_training.trainer.evaluation_split import held_out_set
from agentcore_training.trainer.queries import parse_queries
from agentcore_training.webhook.admission import admission_warnings, check_queries

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import demo_real

NAME = "adder-smollm2-abcde"


def test_the_demo_request_is_the_job_it_describes(tmp_path: Path) -> None:
    items = demo_real.sum_queries()
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps(item) + "\n" for item in items))
    args = cli.parser().parse_args(demo_real.start_args(queries, Path("/cache/smollm2"), 6))
    parsed = params.parse_start_grpo(cli.start_params(args))
    manifest = manifests.trainingjob_manifest(NAME, "demo", parsed, "demo-user")
    spec = TrainingJobSpec.model_validate(manifest["spec"])

    assert (spec.policy.model, spec.policy.system_prompt) == (
        "hf:/cache/smollm2",
        demo_real.SYSTEM_PROMPT,
    )
    assert spec.policy.chat_template == "on"
    assert spec.policy.lora is not None
    assert (spec.config.n_iterations, spec.config.checkpoint_interval) == (6, 6)
    assert spec.output == OutputSpec(claim_name="models", path="adder-smollm2", merge=True)
    assert spec.evaluation.held_out_count(len(items)) == demo_real.held_out_count(100) == 40
    assert admission_warnings(spec) == []  # the learning rate is in a pretrained model's range

    jsonl = manifests.queries_jsonl(parsed)
    configmap = manifests.queries_configmap(NAME, "demo", parsed.agent_id, jsonl)
    admitted = check_queries(spec, "demo", configmap, min_queries=demo_real.MIN_QUERIES)
    assert admitted is None
    # Why the demo's operator lowers its minimum: the task has only 100 items.
    assert check_queries(spec, "demo", configmap, min_queries=100) is not None

    # The question asked of the output model is one the run never trains on.
    split = held_out_set(spec.evaluation, parse_queries(jsonl, "demo"), None, spec.config.seed)
    asked = demo_real.a_held_out_query(items)["query"]
    assert asked in {query.query for query in split.queries}


def test_iterations_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_REAL_ITERATIONS", raising=False)
    assert demo_real.iterations() == 8
    monkeypatch.setenv("DEMO_REAL_ITERATIONS", "3")
    assert demo_real.iterations() == 3
