"""Money: `Decimal` in Python, a decimal string on the wire, never a float."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# At most nine digits before the point and eight after: enough for per-token prices, and a
# bound that keeps every amount exact in Decimal arithmetic and in the CRD's pattern.
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,8})?$"
_MONEY_RE = re.compile(MONEY_PATTERN)


def parse_money(value: Any) -> Decimal:
    """Parse a non-negative amount of US dollars from a decimal string (or an int or float).

    Floats and ints are accepted for the JSON-RPC view, whose first clients sent numbers;
    they are converted through their shortest repr, so 0.1 becomes Decimal("0.1").
    """
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, bool):
        raise ValueError("an amount of money must be a decimal string such as '10.00'")
    elif isinstance(value, int | float):
        text = repr(value) if isinstance(value, float) else str(value)
        if "e" in text.lower():
            text = format(Decimal(text), "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError("an amount of money must be a decimal string such as '10.00'")
    if not _MONEY_RE.fullmatch(text):
        raise ValueError(
            f"{value!r} is not a well-formed amount of US dollars: expected a non-negative "
            "decimal string such as '10.00' (at most 9 digits before the point, 8 after)"
        )
    try:
        return Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern already excludes these
        raise ValueError(f"{value!r} is not a decimal number") from error


def format_money(value: Decimal) -> str:
    """The wire form of an amount: a plain decimal string, no exponent."""
    return format(value, "f")


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN}),
]
"""A non-negative amount of US dollars."""
