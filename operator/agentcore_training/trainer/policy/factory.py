"""Build the policy that spec.policy.model names."""

from __future__ import annotations

from collections.abc import Sequence

from agentcore_training.api.policy import PolicySpec
from agentcore_training.trainer.inputs import check_policy_source
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.policy.tiny import TinyPolicy
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.tokenizer import CharTokenizer


def build_policy(
    spec: PolicySpec,
    queries: Sequence[Query],
    *,
    reward_field: str,
    max_new_tokens: int,
    seed: int,
    extra_alphabet: str = "",
    context_per_step: int = 0,
    max_steps: int = 1,
) -> Policy:
    """A fresh policy (random init for builtin, the files' weights for hf).

    A multi-step environment adds its characters to the builtin vocabulary, and its steps
    to the builtin context: `max_steps` actions of `max_new_tokens` plus
    `context_per_step` environment tokens after each but the last.
    """
    check_policy_source(spec)
    if not spec.pretrained:
        texts = [q.query for q in queries]
        texts += [str(q.expected_outcome.get(reward_field, "")) for q in queries]
        texts.append(extra_alphabet)
        tokenizer = CharTokenizer.from_texts(texts)
        longest = max(len(q.query) for q in queries)
        steps = max(1, max_steps)
        context = longest + steps * max_new_tokens + (steps - 1) * context_per_step + 1
        return TinyPolicy.create(tokenizer, max_context=context, seed=seed)
    from agentcore_training.trainer.policy.hf import HFPolicy  # lazy

    return HFPolicy.load_from(spec, seed=seed)
