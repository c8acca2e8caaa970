"""docs/reference/ is generated from the code and must be current (`make docs`)."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from agentcore_training.controller.settings import OperatorSettings
from agentcore_training.devrunner.settings import DevRunnerSettings

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_reference.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_reference_is_current() -> None:
    assert _tool().main(["--check"]) == 0, "docs/reference is stale: run 'make docs'"


def test_every_settings_class_of_the_package_is_listed() -> None:
    tool = _tool()
    found = tool.settings_classes()
    assert OperatorSettings in found
    assert DevRunnerSettings in found
    assert all(cls.__name__.endswith("Settings") for cls in found)
    text = tool.settings()
    for cls in found:
        assert f"## `{cls.__name__}`" in text
        for name in cls.model_fields:
            assert f"| `{name}` |" in text, (cls.__name__, name)
    assert "`AGENTCORE_OPERATOR_MIN_QUERIES` | `--min-queries`" in text


def test_a_settings_class_added_later_is_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "later_pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "knobs.py").write_text(
        textwrap.dedent(
            '''
            from dataclasses import dataclass
            from pydantic import Field
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class LaterSettings(BaseSettings):
                """Knobs of a component written after the generator."""
                model_config = SettingsConfigDict(env_prefix="LATER_")
                speed: float = Field(default=1.5, description="How fast.")

            @dataclass
            class InternalSettings:  # not pydantic: parameters, not settings
                x: int = 0
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    tool = _tool()
    found = tool.settings_classes(package, "later_pkg")
    assert [cls.__name__ for cls in found] == ["LaterSettings"]
    section = tool._settings_section(found[0])
    assert "| `speed` | `LATER_SPEED` | float | `1.5` | How fast. |" in section
