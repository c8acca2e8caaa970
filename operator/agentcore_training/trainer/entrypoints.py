"""User code named by `module:function` (python rewards and environments)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from agentcore_training.trainer.errors import BadInputError


def import_callable(entry_point: str, what: str, noun: str = "function") -> Callable[..., Any]:
    """Import `module:function`; any failure is bad input about the `what` entry point."""
    module_name, _, attr = entry_point.partition(":")
    if not module_name or not attr:
        raise BadInputError(f"{what} entry point {entry_point!r} must look like module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an import runs user code: any error is the user's
        raise BadInputError(
            f"{what} entry point {entry_point}: cannot import {module_name}: {error}"
        ) from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise BadInputError(f"{what} entry point {entry_point}: {module_name} has no {noun} {attr}")
    found: Callable[..., Any] = function
    return found
