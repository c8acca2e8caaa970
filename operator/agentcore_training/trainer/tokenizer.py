"""Text codecs: the interface the trainer needs of a tokenizer, and a char-level one.

The char tokenizer of builtin:tiny takes its alphabet from the data (the queries, the
reward field's expected text, and the ten digits), so a toy task gets a toy vocabulary: a
random-init policy then explores a dozen symbols rather than a hundred.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from agentcore_training.trainer.errors import BadInputError


class TextCodec(Protocol):
    """Text <-> token ids."""

    @property
    def eos_id(self) -> int: ...

    @property
    def pad_id(self) -> int: ...

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def encode_prompt(self, query: str) -> list[int]:
        """A query as the start of the context (a chat template's user turn, or raw)."""

    def encode_observation(self, text: str) -> list[int]:
        """An environment's answer after an action (a template's tool turn, or raw)."""

    def decode(self, ids: Sequence[int]) -> str: ...


class CharTokenizer:
    """One token per character, plus PAD (0) and EOS (1)."""

    PAD = 0
    EOS = 1

    def __init__(self, alphabet: str) -> None:
        if len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet has repeated characters")
        self.alphabet = alphabet
        self._ids = {char: index + 2 for index, char in enumerate(alphabet)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        chars = set("0123456789")
        for text in texts:
            chars.update(text)
        return cls("".join(sorted(chars)))

    @property
    def eos_id(self) -> int:
        return self.EOS

    @property
    def pad_id(self) -> int:
        return self.PAD

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + 2

    def encode(self, text: str) -> list[int]:
        try:
            return [self._ids[char] for char in text]
        except KeyError as error:
            raise BadInputError(
                f"character {error.args[0]!r} is not in the tiny model's alphabet"
            ) from None

    def encode_prompt(self, query: str) -> list[int]:
        return self.encode(query)  # no chat template: the text itself

    def encode_observation(self, text: str) -> list[int]:
        return self.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        chars = []
        for token in ids:
            if token == self.EOS:
                break
            if token >= 2:
                chars.append(self.alphabet[token - 2])
        return "".join(chars)

    def to_json(self) -> dict[str, Any]:
        return {"type": "char", "alphabet": self.alphabet}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CharTokenizer:
        return cls(str(data["alphabet"]))
