"""docs/reference/ is generated from the code and must be current (`make docs`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_reference.py"


def test_generated_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_reference", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference"] = module
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "docs/reference is stale: run 'make docs'"
