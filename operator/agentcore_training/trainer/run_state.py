"""The run state a checkpoint carries (state.json): where the run is, what it spent, its best.

The weights, the optimizer and the RNG states travel beside it (checkpoint.py); this is the
JSON part, camelCase on disk like the rest of the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentcore_training.api.contract import ProgressState
from agentcore_training.api.status import Metrics
from agentcore_training.trainer.history import RewardHistory
from agentcore_training.trainer.ledger import Ledger


@dataclass
class RunState:
    """What a resumed run continues from."""

    iteration: int
    total_iterations: int
    data_cursor: int
    """How many queries the run has drawn: the data position is one integer."""
    state: ProgressState
    spec_fingerprint: str | None
    """What a checkpoint must match to be resumed: a hash of the spec and the queries."""
    reference_saved: bool
    """Whether the KL reference is saved (a warm start changed it from the initial weights)."""
    ledger: Ledger
    best_checkpoint_id: str | None = None
    best_reward: float | None = None
    metrics: Metrics = field(default_factory=Metrics)
    history: RewardHistory = field(default_factory=RewardHistory)
    evaluation: dict[str, Any] | None = None
    """The evaluation book (trainer/evaluation_book.py), per-query baseline scores included."""

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "totalIterations": self.total_iterations,
            "dataCursor": self.data_cursor,
            "state": self.state.value,
            "specFingerprint": self.spec_fingerprint,
            "referenceSaved": self.reference_saved,
            "ledger": self.ledger.to_json(),
            "bestCheckpointId": self.best_checkpoint_id,
            "bestReward": self.best_reward,
            "metrics": self.metrics.to_wire(),
            "history": self.history.to_json(),
            "evaluation": self.evaluation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        best = data.get("bestReward")
        return cls(
            iteration=int(data["iteration"]),
            total_iterations=int(data.get("totalIterations", 0)),
            data_cursor=int(data["dataCursor"]),
            state=ProgressState(data.get("state", ProgressState.RUNNING.value)),
            spec_fingerprint=data.get("specFingerprint"),
            reference_saved=bool(data.get("referenceSaved")),
            ledger=Ledger.from_json(data["ledger"]),
            best_checkpoint_id=data.get("bestCheckpointId"),
            best_reward=None if best is None else float(best),
            metrics=Metrics.model_validate(data.get("metrics", {})),
            history=RewardHistory.from_json(data.get("history", {})),
            evaluation=data.get("evaluation"),
        )
