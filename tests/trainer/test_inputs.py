"""Queries, the spec and the CLI options: parsing and their one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agentcore_training.api.contract import ProgressState, TerminationSummary
from agentcore_training.api.status import Metrics
from agentcore_training.trainer.config import parse_options
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.queries import parse_queries
from tests.trainer.conftest import addition_queries, make_spec, write_inputs


@pytest.fixture(autouse=True)
def _no_trainer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The options are read from the environment: none of the caller's leaks in."""
    for name in list(os.environ):
        if name.startswith(("AGENTCORE_", "POD_NAME")):
            monkeypatch.delenv(name)


def test_queries_as_json_lines_and_as_a_json_list() -> None:
    items = addition_queries(3)
    lines = "\n".join(json.dumps(q) for q in items) + "\n\n"
    assert [q.query for q in parse_queries(lines, "x")] == ["0+0=", "0+1=", "0+2="]
    assert len(parse_queries(json.dumps(items), "x")) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no queries"),
        ("[]", "no queries"),
        ('{"query": "a", "expected_outcome": {}}\n{"query": ', "line 2 is not valid JSON"),
        ('{"query": "", "expected_outcome": {}}', "'query' must be a non-empty string"),
        ('{"query": "a"}', "'expected_outcome' must be an object"),
        ('[{"query": "a", "expected_outcome": []}]', "item 0: 'expected_outcome'"),
        ("[1]", "item 0: expected an object"),
    ],
)
def test_malformed_queries_are_rejected(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_queries(text, "queries.jsonl")


def test_one_query_is_enough_on_a_laptop() -> None:
    assert len(parse_queries(json.dumps(addition_queries(1)), "x")) == 1


def test_options_from_flags_and_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec_path, queries_path = write_inputs(tmp_path, make_spec())
    options = parse_options(
        ["--spec", str(spec_path), "--queries", str(queries_path), "--checkpoint-dir", "c"],
    )
    assert options.spec.agent_id == "adder"
    assert options.progress_url is None
    env = {
        "AGENTCORE_SPEC": "agentId: adder\nqueries: {configMapRef: {name: q}}\n",
        "AGENTCORE_QUERIES_FILE": str(queries_path),
        "AGENTCORE_CHECKPOINT_DIR": str(tmp_path / "c"),
        "AGENTCORE_PROGRESS_URL": "https://operator:8443/progress",
        "AGENTCORE_TOKEN_FILE": "/var/run/token",
        "AGENTCORE_JOB_ID": "7d0c",
        "POD_NAME": "adder-abc",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    options = parse_options([])
    assert options.spec.config.n_iterations == 10  # the CRD's defaults
    assert options.progress_url == "https://operator:8443/progress"
    assert options.token_file == Path("/var/run/token")
    assert (options.job_id, options.pod_name) == ("7d0c", "adder-abc")
    assert options.termination_log == Path("/dev/termination-log")


def test_a_whole_trainingjob_object_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tj.yaml"
    path.write_text(
        "apiVersion: training.agentcore.dev/v1alpha1\nkind: TrainingJob\n"
        "spec: {agentId: a, queries: {configMapRef: {name: q}}}\n"
    )
    options = parse_options(["--spec", str(path), "--queries", "q", "--checkpoint-dir", "c"])
    assert options.spec.agent_id == "a"


@pytest.mark.parametrize(
    ("spec_text", "message"),
    [
        ("{", "neither JSON nor YAML"),
        ("[1]", "must be an object"),
        ('{"agentId": "a"}', "invalid spec .*queries: Field required"),
        (
            '{"agentId": "a", "queries": {"configMapRef": {"name": "q"}}, '
            '"reward": {"type": "bogus"}}',
            "invalid spec .*reward.type",
        ),
    ],
)
def test_a_bad_spec_is_one_clear_error(tmp_path: Path, spec_text: str, message: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text(spec_text)
    with pytest.raises(BadInputError, match=message):
        parse_options(["--spec", str(path), "--queries", "q", "--checkpoint-dir", "c"])


def test_missing_inputs_name_the_flag_and_the_variable() -> None:
    with pytest.raises(BadInputError, match="AGENTCORE_SPEC_FILE"):
        parse_options([])


def test_termination_summary_fits_in_4_kib() -> None:
    summary = TerminationSummary(
        state=ProgressState.FAILED, metrics=Metrics(avg_reward=1.0), message="m" * 10_000
    )
    data = summary.to_message()
    assert len(data) <= 4096
    assert json.loads(data)["state"] == "failed"


def test_evaluation_queries_from_the_flag_or_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcore_training.trainer.inputs import prepare_inputs

    spec = make_spec()
    spec["evaluation"] = {"queries": {"configMapRef": {"name": "eval-q"}}}
    spec_path, queries_path = write_inputs(tmp_path, spec)
    own = tmp_path / "eval.jsonl"
    own.write_text('{"query": "12+13=", "expected_outcome": {"answer": "25"}}\n')
    base = ["--spec", str(spec_path), "--queries", str(queries_path), "--checkpoint-dir", "c"]
    with pytest.raises(BadInputError, match="AGENTCORE_EVAL_QUERIES_FILE"):
        prepare_inputs(parse_options(base))
    flagged = prepare_inputs(parse_options([*base, "--eval-queries", str(own)]))
    assert [q.query for q in flagged.held_out.queries] == ["12+13="]
    assert flagged.held_out.train_indices == tuple(range(100))  # nothing held out of the file
    assert flagged.held_out.source == "evaluation queries"
    monkeypatch.setenv("AGENTCORE_EVAL_QUERIES_FILE", str(own))
    assert parse_options(base).eval_queries_file == own
    monkeypatch.setenv("AGENTCORE_EVAL_QUERIES_FILE", str(tmp_path / "missing.jsonl"))
    with pytest.raises(BadInputError, match="cannot read queries file"):
        prepare_inputs(parse_options(base))
