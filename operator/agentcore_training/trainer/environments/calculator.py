"""calculator: a tool-use environment. The agent may call `calc(<arithmetic>)`, whose result
is appended to its context, and ends with `answer(<text>)`.

Actions (one per step, the policy's text up to its EOS, surrounding spaces ignored):
- `calc(<expression>)`: evaluated by the safe parser of `arith.py` (never `eval`); the
  observation `=<result>` + newline is appended, or `=error: <why>` + newline on a tool
  error (the trajectory goes on).
- `answer(<text>)`: the trajectory ends; the reward scores `<text>`.
- anything else is malformed: the trajectory ends with reward -malformedPenalty.
"""

from __future__ import annotations

import random
import re
import string

from agentcore_training.trainer.environments.arith import CalcError, evaluate, format_number
from agentcore_training.trainer.environments.protocol import Segment, StepInfo, StepResult
from agentcore_training.trainer.queries import Query

_CALL = re.compile(r"\s*(calc|answer)\s*\((.*)\)\s*", re.DOTALL)
_ARITHMETIC_SPAN = re.compile(r"[0-9+\-*/%(). ]*[0-9][0-9+\-*/%(). ]*")
ALPHABET = string.ascii_lowercase + string.digits + "()+-*/%.=: \n"
"""Every character of the actions and observations (for char tokenizers)."""
TOOL_CALL_SHARE = 0.5
"""In warm-start examples: the share that calls the tool before answering."""


def tool_observation(expression: str, *, max_chars: int, max_result_chars: int) -> StepResult:
    """The observation of calc(expression): `=<result>` or `=error: <why>` (cut to
    `max_result_chars`; a longer result is the error "result too long"); never raises."""
    try:
        text = format_number(evaluate(expression, max_chars=max_chars))
        if len(text) > max_result_chars:
            raise CalcError("result too long")
        error = False
    except CalcError as problem:
        text = f"error: {problem}"
        error = True
    return StepResult(
        f"={text[:max_result_chars]}\n", False, StepInfo(tool_call=True, tool_error=error)
    )


class Calculator:
    """One trajectory of the calculator environment."""

    alphabet = ALPHABET

    def __init__(self, *, max_expression_chars: int = 64, max_tool_result_chars: int = 32) -> None:
        self.max_expression_chars = max_expression_chars
        self.max_tool_result_chars = max_tool_result_chars

    def reset(self, query: Query) -> str:
        return query.query

    def step(self, action: str) -> StepResult:
        match = _CALL.fullmatch(action)
        if match is None:
            return StepResult("", True, StepInfo(malformed=True))
        verb, argument = match.groups()
        if verb == "answer":
            return StepResult("", True, StepInfo(answer=argument.strip()))
        return tool_observation(
            argument,
            max_chars=self.max_expression_chars,
            max_result_chars=self.max_tool_result_chars,
        )

    # -- the optional warm start: the action format, on random content ------------------

    def format_example(self, query: Query, rng: random.Random) -> list[Segment]:
        """The query's prompt with every digit redrawn at random, then either a direct
        `answer(<random digits>)`, or `calc(<the redrawn expression>)`, the tool's
        observation, and `answer(<that tool result>)`. Never the task's own answers."""
        prompt = _redraw_digits(query.query, rng)
        if rng.random() >= TOOL_CALL_SHARE:
            guess = "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 4)))
            return [Segment(prompt, False), Segment(f"answer({guess})", True)]
        spans = _ARITHMETIC_SPAN.findall(prompt)
        expression = max(spans, key=len).strip() if spans else ""
        if not expression:
            expression = f"{rng.randint(1, 99)}{rng.choice('+-*')}{rng.randint(1, 99)}"
        observation = tool_observation(
            expression,
            max_chars=self.max_expression_chars,
            max_result_chars=self.max_tool_result_chars,
        ).observation
        result = observation[1:].strip()
        return [
            Segment(prompt, False),
            Segment(f"calc({expression})", True),
            Segment(observation, False),
            Segment(f"answer({result})", True),
        ]


def _redraw_digits(text: str, rng: random.Random) -> str:
    """Every digit replaced by a random one (no new leading zeros in multi-digit numbers)."""
    chars = list(text)
    for index, char in enumerate(chars):
        if not char.isdigit():
            continue
        leading = (index == 0 or not text[index - 1].isdigit()) and (
            index + 1 < len(text) and text[index + 1].isdigit()
        )
        chars[index] = str(rng.randint(1, 9)) if leading else str(rng.randint(0, 9))
    return "".join(chars)
