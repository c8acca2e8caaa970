"""A bounded, downsampled reward curve (at most HISTORY_MAX_POINTS points)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentcore_training.api.contract import RewardPoint
from agentcore_training.api.status import HISTORY_MAX_POINTS


@dataclass
class RewardHistory:
    """Keeps every `stride`-th iteration; when full, drops every other point, doubles stride."""

    stride: int = 1
    points: list[tuple[int, float]] = field(default_factory=list)

    def add(self, iteration: int, avg_reward: float) -> None:
        if iteration % self.stride:
            return
        self.points.append((iteration, avg_reward))
        if len(self.points) > HISTORY_MAX_POINTS:
            self.stride *= 2
            self.points = [p for p in self.points if p[0] % self.stride == 0]

    def to_points(self) -> list[RewardPoint]:
        return [RewardPoint(iteration=i, avg_reward=r) for i, r in self.points]

    def to_json(self) -> dict[str, Any]:
        return {"stride": self.stride, "points": [list(p) for p in self.points]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RewardHistory:
        return cls(
            stride=int(data.get("stride", 1)),
            points=[(int(i), float(r)) for i, r in data.get("points", [])],
        )
