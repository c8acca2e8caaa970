"""The TextCodec of hf: policies: a transformers tokenizer, with its chat template or not."""

from __future__ import annotations

from typing import Any

from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.policy.chat import ChatFormat


class HFCodec:
    """TextCodec over a transformers tokenizer; `chat` renders prompts and observations."""

    def __init__(self, tokenizer: Any, chat: ChatFormat | None = None) -> None:
        self.tokenizer = tokenizer
        self.chat = chat
        if tokenizer.eos_token_id is None:
            raise BadInputError("the Hugging Face tokenizer has no EOS token")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token  # the usual stand-in
        self._eos = int(tokenizer.eos_token_id)
        self._pad = int(tokenizer.pad_token_id)

    @property
    def eos_id(self) -> int:
        return self._eos

    @property
    def pad_id(self) -> int:
        return self._pad

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, text: str) -> list[int]:
        # Special tokens written in the text (a rendered template's) encode as themselves.
        return [int(t) for t in self.tokenizer.encode(text, add_special_tokens=False)]

    def encode_prompt(self, query: str) -> list[int]:
        return self.encode(self.chat.prompt(query) if self.chat else query)

    def encode_observation(self, text: str) -> list[int]:
        return self.encode(self.chat.observation(text) if self.chat else text)

    def decode(self, ids: Any) -> str:
        tokens = [int(t) for t in ids]
        if self._eos in tokens:
            tokens = tokens[: tokens.index(self._eos)]
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))
