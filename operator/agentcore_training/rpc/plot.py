"""The reward curve of a job as a PNG (matplotlib, Agg backend; the `cli` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def reward_png(path: Path, iterations: Sequence[int], rewards: Sequence[float], title: str) -> Path:
    """Draw mean reward per iteration to `path`; ImportError names the extra to install."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - the cli extra brings it
        raise ImportError(
            "the PNG needs matplotlib: pip install 'agentcore-training[cli]'"
        ) from error
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        axes.plot(list(iterations), list(rewards), marker="o", markersize=3, linewidth=1.5)
        axes.set_xlabel("iteration")
        axes.set_ylabel("mean reward")
        axes.set_title(title)
        axes.grid(visible=True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
