"""The calculator environment and its safe arithmetic parser: arithmetic only, tool errors
for everything else, never an exception."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentcore_training.trainer.environments.arith import CalcError, evaluate, format_number
from agentcore_training.trainer.environments.calculator import Calculator
from agentcore_training.trainer.environments.protocol import StepInfo
from agentcore_training.trainer.queries import Query

QUERY = Query(query="12*34=", expected_outcome={"answer": "408"})


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("12*34", "408"),
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7/2", "3.5"),
        ("1/3", "0.333333"),
        ("-(4 - 6) ** 2", "-4"),
        ("2 ** -2", "0.25"),
        ("2 ** 3 ** 2", "512"),
        ("17 % 5", "2"),
        (".5 + 1.", "1.5"),
        ("2**64", "18446744073709551616"),
    ],
)
def test_arithmetic_is_evaluated_exactly(expression: str, value: str) -> None:
    assert format_number(evaluate(expression)) == value


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("x", "names are not allowed"),
        ("abs(-1)", "names are not allowed"),
        ("__import__('os').system('true')", "names are not allowed"),
        ("(1).real", "not arithmetic"),
        ("1 .__class__", "not arithmetic"),
        ("'1' + '2'", "not arithmetic"),
        ("[1, 2]", "not arithmetic"),
        ("1; 2", "not arithmetic"),
        ("9**9**9", "exponent too big"),
        ("10**100", "exponent too big"),
        ("99999999**64", "number too big"),
        ("2**0.5", "exponent must be whole"),
        ("1/0", "division by zero"),
        ("5 % (2 - 2)", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("1+" * 40 + "1", "expression too long"),
        ("", "empty expression"),
        ("((1)", "missing )"),
        ("1)", "unexpected token"),
        ("1 +", "unexpected end"),
        ("9" * 41, "number too long"),
    ],
)
def test_anything_but_arithmetic_is_a_calc_error(expression: str, why: str) -> None:
    with pytest.raises(CalcError, match=re.escape(why)):
        evaluate(expression, max_chars=64)


def test_deep_nesting_is_refused_before_python_recursion_limits() -> None:
    with pytest.raises(CalcError, match="nested too deep"):
        evaluate("(" * 500 + "1" + ")" * 500, max_chars=4096)
    with pytest.raises(CalcError, match="nested too deep"):
        evaluate("-" * 1000 + "1", max_chars=4096)


def test_repeated_products_cannot_grow_without_bound() -> None:
    with pytest.raises(CalcError, match="number too big"):
        evaluate("*".join(["99999999999999999999"] * 30), max_chars=4096)


@pytest.mark.parametrize(
    "expression", ["x", "(1).real", "9**9**9", "1/0", "1+" * 40 + "1", "", "import os"]
)
def test_the_tool_answers_an_error_observation_and_the_trajectory_goes_on(
    expression: str,
) -> None:
    calculator = Calculator(max_expression_chars=64)
    assert calculator.reset(QUERY) == "12*34="
    observation, done, info = calculator.step(f"calc({expression})")
    assert not done
    assert info == StepInfo(tool_call=True, tool_error=True)
    assert observation.startswith("=error: ")
    assert observation.endswith("\n")


def test_a_tool_call_appends_its_result_and_answer_ends_the_trajectory() -> None:
    calculator = Calculator()
    calculator.reset(QUERY)
    assert calculator.step("calc(12*34)") == ("=408\n", False, StepInfo(tool_call=True))
    assert calculator.step(" answer( 408 ) ") == ("", True, StepInfo(answer="408"))


@pytest.mark.parametrize("action", ["408", "answer 408", "calc 1+1", "answer(1", "say(1)", ""])
def test_anything_else_is_a_malformed_action(action: str) -> None:
    observation, done, info = Calculator().step(action)
    assert (observation, done, info) == ("", True, StepInfo(malformed=True))


def test_a_result_longer_than_the_limit_is_a_tool_error() -> None:
    observation, _, info = Calculator(max_tool_result_chars=8).step("calc(2**40)")
    assert info.tool_error
    assert observation == "=error: r\n"  # "error: result too long", cut to 8 characters


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_no_text_makes_the_calculator_raise(text: str) -> None:
    calculator = Calculator()
    calculator.reset(QUERY)
    for action in (text, f"calc({text})", f"answer({text})"):
        observation, done, info = calculator.step(action)
        assert isinstance(observation, str)
        assert done == (not info.tool_call)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.integers(min_value=0, max_value=10**6).map(str),
        lambda inner: st.tuples(inner, st.sampled_from("+-*"), inner).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"
        ),
        max_leaves=8,
    )
)
def test_integer_arithmetic_matches_python(expression: str) -> None:
    expected = Fraction(eval(expression))  # noqa: S307 - the oracle, on generated integers only
    assert evaluate(expression, max_chars=4096) == expected
