"""Chat templates (policy.chatTemplate, policy.systemPrompt) for hf: policies.

A query becomes a user turn (after the system turn, when given) followed by the template's
generation prompt, so the model answers as the assistant. In a multi-step environment the
policy's action ends with its EOS token, which ends its turn; an observation then becomes
the rest of that turn's rendering (e.g. the newline after `<|im_end|>`), a turn of the tool
role (or of the user, when the template does not render a tool role) and the next
generation prompt. Those tokens are the environment's: masked out of the loss like any
observation. Rendering is text; the codec encodes it (special tokens included).
"""

from __future__ import annotations

from typing import Any

from agentcore_training.api.policy import ChatTemplateMode, PolicySpec, chat_conflict
from agentcore_training.trainer.errors import BadInputError

_PROBE_QUERY = "\x1eQ\x1e"
_PROBE_ACTION = "\x1eA\x1e"
_PROBE_OBSERVATION = "\x1eO\x1e"


class ChatFormat:
    """Renders queries and observations with a transformers tokenizer's chat template."""

    def __init__(self, tokenizer: Any, system_prompt: str | None) -> None:
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.tool_role = self._pick_tool_role()

    @classmethod
    def for_policy(cls, tokenizer: Any, policy: PolicySpec) -> ChatFormat | None:
        """The format the spec asks for, or None for raw text; BadInputError if it cannot."""
        has_template = bool(getattr(tokenizer, "chat_template", None))
        conflict = chat_conflict(policy, has_template=has_template)
        if conflict is not None:
            raise BadInputError(conflict)
        if policy.chat_template is ChatTemplateMode.OFF or not has_template:
            return None
        return cls(tokenizer, policy.system_prompt)

    def _render(self, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        try:
            text = self.tokenizer.apply_chat_template(
                head + messages, tokenize=False, add_generation_prompt=generation_prompt
            )
        except Exception as error:  # jinja's errors: a template that refuses these turns
            raise BadInputError(f"the chat template cannot render the turns: {error}") from None
        return str(text)

    def _pick_tool_role(self) -> str:
        turns = [
            {"role": "user", "content": _PROBE_QUERY},
            {"role": "assistant", "content": _PROBE_ACTION},
            {"role": "tool", "content": _PROBE_OBSERVATION},
        ]
        try:
            rendered = self._render(turns, generation_prompt=True)
        except BadInputError:
            return "user"
        return "tool" if _PROBE_OBSERVATION in rendered else "user"

    def prompt(self, query: str) -> str:
        """The conversation so far: system, the query as a user turn, the generation prompt."""
        return self._render([{"role": "user", "content": query}], generation_prompt=True)

    def observation(self, text: str) -> str:
        """What follows an action (which ended with EOS) when the environment answers."""
        turns = [
            {"role": "user", "content": _PROBE_QUERY},
            {"role": "assistant", "content": _PROBE_ACTION},
        ]
        before = self._render(turns, generation_prompt=False)
        after = self._render(
            [*turns, {"role": self.tool_role, "content": text}], generation_prompt=True
        )
        if not after.startswith(before):
            raise BadInputError("the chat template renders earlier turns differently later on")
        # The action's own tokens stop at EOS: the rest of its rendered turn comes here.
        end = before.rfind(_PROBE_ACTION) + len(_PROBE_ACTION)
        closing = before[end:]
        eos = str(self.tokenizer.eos_token or "")
        if eos and closing.startswith(eos):
            closing = closing[len(eos) :]
        return closing + after[len(before) :]
