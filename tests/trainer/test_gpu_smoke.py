"""bench/gpu_smoke.py on a machine (or a view of one) without a GPU: it says so, exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.trainer.conftest import cli_env

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_smoke.py"


def test_without_a_gpu_it_says_so_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=cli_env(CUDA_VISIBLE_DEVICES=""),  # hides any GPU from torch
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU visible" in done.stdout
