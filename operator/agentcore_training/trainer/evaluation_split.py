"""The held-out split: which queries are evaluated and never trained on (pure).

The queries are shuffled with a generator seeded by `spec.config.seed`, and the last
`EvaluationSpec.held_out_count(n)` of that order (floor(n * heldOutFraction), the original
system's 20 % by default) are held out. Admission and the JSON-RPC shim count with the same
method, so what they promise the trainer keeps.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from agentcore_training.api.contract import ENV_EVAL_QUERIES_FILE
from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.queries import Query

SPLIT_SALT = 0x5EED_E7A1
"""Mixed into the seed, so the split's order is not the first epoch's batch order."""


@dataclass(frozen=True)
class Split:
    """Indices into the queries file: `train` is all the trainer ever samples."""

    train: tuple[int, ...]
    held_out: tuple[int, ...]


def split_queries(n_queries: int, held_out: int, seed: int) -> Split:
    """The seeded split of `n_queries` queries, `held_out` of them held out; both parts keep
    the file's order."""
    if not 0 <= held_out <= n_queries:
        raise ValueError(f"cannot hold out {held_out} of {n_queries} queries")
    if held_out == 0:
        return Split(train=tuple(range(n_queries)), held_out=())
    order = list(range(n_queries))
    random.Random(seed ^ SPLIT_SALT).shuffle(order)  # noqa: S311 - a data split, not a secret
    held = set(order[n_queries - held_out :])
    return Split(
        train=tuple(i for i in range(n_queries) if i not in held),
        held_out=tuple(sorted(held)),
    )


@dataclass(frozen=True)
class HeldOutSet:
    """The queries the run trains on and the ones it evaluates on (indices into the file)."""

    train_indices: tuple[int, ...]
    queries: list[Query]
    """The evaluation queries: held out of the file, or a file of their own."""
    source: str
    """Where they come from, for the logs: "held out", or "evaluation queries"."""


def held_out_set(
    evaluation: EvaluationSpec, queries: Sequence[Query], own: Sequence[Query] | None, seed: int
) -> HeldOutSet:
    """Split the training file, or keep it whole when the evaluation has queries of its own
    (`own`: the file of spec.evaluation.queries, which the Job mounts and names)."""
    if own is not None:
        return HeldOutSet(tuple(range(len(queries))), list(own), "evaluation queries")
    if evaluation.queries is not None:
        raise BadInputError(
            "spec.evaluation.queries is set but no evaluation queries file was given: set "
            f"{ENV_EVAL_QUERIES_FILE} (the operator's Job does) or pass --eval-queries FILE"
        )
    split = split_queries(len(queries), evaluation.held_out_count(len(queries)), seed)
    if not split.train:
        raise BadInputError(f"spec.evaluation.heldOutFraction leaves no query of {len(queries)}")
    return HeldOutSet(split.train, [queries[i] for i in split.held_out], "held out")
