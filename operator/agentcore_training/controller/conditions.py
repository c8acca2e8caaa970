"""Conditions in the Kubernetes API conventions' form: one per type, pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agentcore_training.api.status import Condition, ConditionStatus, ConditionType


def find(conditions: Sequence[Condition], type_: ConditionType) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def set_condition(
    conditions: Sequence[Condition],
    type_: ConditionType,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """The conditions with `type_` set; lastTransitionTime moves only when status changes."""
    current = find(conditions, type_)
    since = current.last_transition_time if current and current.status == status else now
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=generation,
    )
    others = [c for c in conditions if c.type != type_]
    return sorted([*others, updated], key=lambda c: list(ConditionType).index(c.type))
