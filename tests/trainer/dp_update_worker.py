"""One rank of the data-parallel equality test (run by torchrun, or alone as 1 rank).

Every rank samples the same fixed batch (same seed), takes its share of the queries
(`ranks.rank_share`: whole groups), and runs two GRPO updates; rank 0 saves the weights.
"""

from __future__ import annotations

import dataclasses
import sys

import torch

from agentcore_training.api.policy import PolicySpec
from agentcore_training.trainer import distributed
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.factory import build_policy
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.ranks import rank_slice
from agentcore_training.trainer.rollout import RolloutBatch, encode_prompts, sample_rollout
from agentcore_training.trainer.update import policy_update
from tests.trainer.conftest import sum_queries

QUERIES = 4
GROUP = 4


def _share(batch: RolloutBatch, rank: int, world: int) -> RolloutBatch:
    queries = rank_slice(QUERIES, rank, world)
    rows = slice(queries.start * GROUP, queries.stop * GROUP)
    return dataclasses.replace(
        batch,
        input_ids=batch.input_ids[rows],
        attention_mask=batch.attention_mask[rows],
        loss_mask=batch.loss_mask[rows],
        advantages=batch.advantages[rows],
        rewards=batch.rewards[rows],
        completion_lengths=batch.completion_lengths[rows],
    )


def main(out: str) -> None:
    torch.set_num_threads(1)
    distributed.init_from_env()
    queries = [Query(q["query"], q["expected_outcome"]) for q in sum_queries(QUERIES)]
    policy = build_policy(
        PolicySpec(model="builtin:tiny"), queries, reward_field="answer", max_new_tokens=4, seed=0
    )
    reference = policy.frozen_copy()
    initial = {k: v.clone() for k, v in policy.module.state_dict().items()}
    optimizer = AdamW(policy.module.parameters(), lr=1e-2, weight_decay=0.0)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(2):
        batch = sample_rollout(
            policy,
            lambda text, query: float(len(text) % 3),
            queries,
            encode_prompts(policy.codec, queries),
            group_size=GROUP,
            max_new_tokens=4,
            temperature=1.0,
            generator=generator,
        )
        stats = policy_update(
            policy,
            reference,
            optimizer,
            _share(batch, distributed.rank(), distributed.world_size()),
            inner_epochs=2,
            clip_epsilon=0.2,
            kl_coef=0.04,
            temperature=1.0,
            micro_batch_size=3,
        )
        losses.append(stats.loss)
    if distributed.rank() == 0:
        torch.save({"state": policy.module.state_dict(), "initial": initial, "losses": losses}, out)
    # A gloo group left to interpreter exit can abort a rank ("terminate called without an
    # active exception", exit -6: seen once in CI); the trainer closes its group too.
    distributed.close()


if __name__ == "__main__":
    main(sys.argv[1])
