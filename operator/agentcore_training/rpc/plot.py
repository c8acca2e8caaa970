"""The reward curve of a job as a PNG (matplotlib, Agg backend; the `cli` extra): the mean
training reward, and the held-out success rate on its own axis when the job evaluates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

HELD_OUT_COLOR = "tab:orange"


def _pyplot() -> Any:
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - the cli extra brings it
        raise ImportError(
            "the PNG needs matplotlib: pip install 'agentcore-training[cli]'"
        ) from error
    return plt


def reward_figure(
    iterations: Sequence[int],
    rewards: Sequence[float],
    title: str,
    held_out: tuple[Sequence[int], Sequence[float]] | None = None,
) -> Any:
    """The figure: mean reward per iteration; `held_out` (iterations, success rates) on a
    second axis from 0 to 1. The caller closes it (matplotlib.pyplot.close)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    axes.plot(
        list(iterations), list(rewards), marker="o", markersize=3, linewidth=1.5, label="reward"
    )
    axes.set_xlabel("iteration")
    axes.set_ylabel("mean training reward")
    axes.set_title(title)
    axes.grid(visible=True, alpha=0.3)
    if held_out is not None and held_out[0]:
        success = axes.twinx()
        success.plot(
            list(held_out[0]),
            list(held_out[1]),
            marker="s",
            markersize=4,
            linewidth=1.5,
            color=HELD_OUT_COLOR,
            label="held-out success rate",
        )
        success.set_ylim(0, 1)
        success.set_ylabel("held-out success rate", color=HELD_OUT_COLOR)
        handles = axes.get_legend_handles_labels()[0] + success.get_legend_handles_labels()[0]
        axes.legend(handles=handles, loc="lower right")
    figure.tight_layout()
    return figure


def reward_png(
    path: Path,
    iterations: Sequence[int],
    rewards: Sequence[float],
    title: str,
    held_out: tuple[Sequence[int], Sequence[float]] | None = None,
) -> Path:
    """Draw reward_figure to `path`; ImportError names the extra to install."""
    plt = _pyplot()
    figure = reward_figure(iterations, rewards, title, held_out)
    try:
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
