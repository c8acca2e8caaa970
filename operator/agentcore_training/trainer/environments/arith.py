"""A safe arithmetic evaluator for the calculator tool: a tokenizer and a recursive-descent
parser over exact fractions. Never `eval`: names, attributes, calls, strings and anything
but numbers, + - * / % ** and parentheses are refused.

Every refusal is a `CalcError` with a short message (the tool error the agent reads):
too-long input, too deep nesting, huge exponents or numbers, division by zero. Pure: no
I/O, no torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

MAX_DEPTH = 32
"""Most nested parentheses or unary signs."""
MAX_BITS = 256
"""Largest numerator or denominator, in bits, of any intermediate value."""
MAX_EXPONENT = 64
"""Largest |exponent| of `**`."""
RESULT_DECIMALS = 6
"""A non-integer result is rounded to this many decimal places."""

_TOKEN = re.compile(r"\s*(?:([0-9]+(?:\.[0-9]*)?|\.[0-9]+)|(\*\*|[-+*/%()]))")


class CalcError(ValueError):
    """The expression is not arithmetic the calculator evaluates; the message says why."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "op" or "end"
    text: str
    value: Fraction = Fraction(0)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            # The messages never echo the input: the agent reads them in its context.
            char = text[position:].lstrip()[:1]
            if char.isalpha() or char == "_":
                raise CalcError("names are not allowed")
            raise CalcError("not arithmetic")
        number, op = match.groups()
        if number is not None:
            if len(number) > 40:
                raise CalcError("number too long")
            tokens.append(_Token("num", number, Fraction(number)))
        else:
            tokens.append(_Token("op", op))
        position = match.end()
    tokens.append(_Token("end", ""))
    return tokens


def _check_size(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise CalcError("number too big")
    return value


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/'|'%') unary)*;
    unary := ('+'|'-') unary | power; power := atom ('**' unary)?; atom := num | '(' expr ')'
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Fraction:
        if self.peek().kind == "end":
            raise CalcError("empty expression")
        value = self.expr()
        if self.peek().kind != "end":
            raise CalcError("unexpected token")
        return value

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalcError("nested too deep")

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take().text
            right = self.term()
            value = _check_size(value + right if op == "+" else value - right)
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek().text in ("*", "/", "%"):
            op = self.take().text
            right = self.unary()
            if op == "*":
                value = value * right
            elif right == 0:
                raise CalcError("division by zero")
            elif op == "/":
                value = value / right
            else:
                value = value % right
            value = _check_size(value)
        return value

    def unary(self) -> Fraction:
        if self.peek().text in ("+", "-"):
            self._enter()
            op = self.take().text
            value = self.unary()
            self.depth -= 1
            return -value if op == "-" else value
        return self.power()

    def power(self) -> Fraction:
        base = self.atom()
        if self.peek().text != "**":
            return base
        self.take()
        self._enter()
        exponent = self.unary()
        self.depth -= 1
        if exponent.denominator != 1:
            raise CalcError("exponent must be whole")
        if abs(exponent) > MAX_EXPONENT:
            raise CalcError("exponent too big")
        if base == 0 and exponent < 0:
            raise CalcError("division by zero")
        # Bound the size before computing: bits(base) * |exponent|.
        bits = max(base.numerator.bit_length(), base.denominator.bit_length())
        if bits * abs(int(exponent)) > MAX_BITS:
            raise CalcError("number too big")
        return _check_size(base ** int(exponent))

    def atom(self) -> Fraction:
        token = self.take()
        if token.kind == "num":
            return _check_size(token.value)
        if token.text == "(":
            self._enter()
            value = self.expr()
            if self.take().text != ")":
                raise CalcError("missing )")
            self.depth -= 1
            return value
        if token.kind == "end":
            raise CalcError("unexpected end")
        raise CalcError("unexpected token")


def evaluate(text: str, *, max_chars: int = 64) -> Fraction:
    """The exact value of an arithmetic expression; raises CalcError, and only that."""
    if len(text) > max_chars:
        raise CalcError("expression too long")
    return _Parser(_tokenize(text)).parse()


def format_number(value: Fraction) -> str:
    """An integer as digits; anything else rounded to RESULT_DECIMALS places, no exponent."""
    if value.denominator == 1:
        return str(value.numerator)
    with localcontext() as context:
        context.prec = 200
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        rounded = exact.quantize(Decimal(1).scaleb(-RESULT_DECIMALS), rounding=ROUND_HALF_EVEN)
    text = format(rounded, "f").rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
