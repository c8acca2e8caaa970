"""TrainerSettings: the environment the Job sets, with a CLI flag winning where given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentcore_training.api.contract import ENV_INNER_EPOCHS, ENV_TERMINATION_LOG, TERMINATION_LOG
from agentcore_training.trainer.config import parse_options, termination_log_path
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.settings import FLAGS, TrainerSettings
from tests.trainer.conftest import make_spec, write_inputs


@pytest.fixture(autouse=True)
def _no_trainer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AGENTCORE_", "POD_NAME")):
            monkeypatch.delenv(name)


def _args(tmp_path: Path, *extra: str) -> list[str]:
    spec_path, queries_path = write_inputs(tmp_path, make_spec())
    return [
        "--spec",
        str(spec_path),
        "--queries",
        str(queries_path),
        "--checkpoint-dir",
        "c",
        *extra,
    ]


def test_a_flag_wins_over_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_INNER_EPOCHS, "3")
    assert parse_options(_args(tmp_path)).inner_epochs == 3
    assert parse_options(_args(tmp_path, "--inner-epochs", "5")).inner_epochs == 5


def test_a_blank_variable_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_INNER_EPOCHS, "  ")
    monkeypatch.setenv(ENV_TERMINATION_LOG, "")
    options = parse_options(_args(tmp_path))
    assert options.inner_epochs == 2
    assert options.termination_log == Path(TERMINATION_LOG)


def test_a_bad_variable_is_one_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_INNER_EPOCHS, "0")
    with pytest.raises(BadInputError, match=f"{ENV_INNER_EPOCHS} \\(--inner-epochs\\): .*1"):
        parse_options(_args(tmp_path))


def test_the_termination_log_is_known_when_other_settings_are_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_INNER_EPOCHS, "many")
    monkeypatch.setenv(ENV_TERMINATION_LOG, str(tmp_path / "from-env"))
    assert termination_log_path([]) == tmp_path / "from-env"
    assert termination_log_path(["--termination-log", "x", "--bogus"]) == Path("x")


def test_every_flag_names_a_setting_with_its_variable() -> None:
    for name in FLAGS:
        info = TrainerSettings.model_fields[name]
        assert str(info.validation_alias).startswith("AGENTCORE_")
        assert info.description
