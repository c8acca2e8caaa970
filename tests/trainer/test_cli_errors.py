"""Bad input ends with one clear line on stderr and exit code 2 (the console script)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentcore_training.api.contract import EXIT_BAD_INPUT
from tests.trainer.conftest import addition_queries, make_spec, run_cli, write_inputs


def run_with(tmp_path: Path, spec: dict[str, Any], queries_text: str | None = None) -> Any:
    spec_path, queries_path = write_inputs(tmp_path, spec)
    if queries_text is not None:
        queries_path.write_text(queries_text)
    termination = tmp_path / "termination-log"
    result = run_cli(
        [
            "--spec",
            str(spec_path),
            "--queries",
            str(queries_path),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
            "--termination-log",
            str(termination),
        ],
        timeout=60,
    )
    return result, termination


def assert_bad_input(result: Any, termination: Path, message: str) -> None:
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agentcore-trainer: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    summary = json.loads(termination.read_text())
    assert summary["state"] == "failed"
    assert summary["reason"] == "BadInput"
    assert summary["exitCode"] == EXIT_BAD_INPUT


@pytest.mark.parametrize(
    ("queries_text", "message"),
    [
        ('{"query": "1+1=", "expected_outcome": {"answer": "2"}}\nnot json\n', "line 2"),
        ("", "no queries"),
        ('[{"query": "1+1="}]', "'expected_outcome' must be an object"),
        ('{"query": "1+1=", "expected_outcome": {"result": "2"}}\n', "no field 'answer'"),
    ],
)
def test_bad_queries(tmp_path: Path, queries_text: str, message: str) -> None:
    result, termination = run_with(tmp_path, make_spec(), queries_text)
    assert_bad_input(result, termination, message)


def test_unknown_reward_type(tmp_path: Path) -> None:
    result, termination = run_with(tmp_path, make_spec(reward={"type": "bogus"}))
    assert_bad_input(result, termination, "reward.type")


def test_python_reward_entry_point_that_does_not_exist(tmp_path: Path) -> None:
    spec = make_spec(reward={"type": "python", "entryPoint": "no_such_module_xyz:score"})
    result, termination = run_with(tmp_path, spec)
    assert_bad_input(result, termination, "cannot import no_such_module_xyz")


def test_missing_model_path(tmp_path: Path) -> None:
    result, termination = run_with(tmp_path, make_spec(policy={"model": "hf:/nonexistent"}))
    assert_bad_input(result, termination, "model path /nonexistent does not exist")


def test_numeric_reward_on_text_answers(tmp_path: Path) -> None:
    queries = json.dumps([{"query": "capital of France?", "expected_outcome": {"answer": "Paris"}}])
    result, termination = run_with(tmp_path, make_spec(reward={"type": "numeric"}), queries)
    assert_bad_input(result, termination, "'Paris' is not a number")


def test_a_handful_of_queries_run_on_a_laptop(tmp_path: Path) -> None:
    # The trainer accepts fewer than the operator's 100; the termination log is optional.
    spec_path, queries_path = write_inputs(
        tmp_path, make_spec({"nIterations": 2}), addition_queries(3)
    )
    result = run_cli(
        [
            "--spec",
            str(spec_path),
            "--queries",
            str(queries_path),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
            "--termination-log",
            str(tmp_path / "no" / "such" / "dir" / "log"),
        ],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
