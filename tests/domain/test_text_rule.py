"""The text rule (names, product names, reasons) decides as it did when it
looked at every character's Unicode category: the same text kept, the same
refusals, whatever the characters."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from orders_gql.domain.errors import ValidationError
from orders_gql.domain.validation import _CONTROL, _CONTROL_BUT_LINES, _text


def reference(field: str, value: str, low: int, high: int, *, lines: bool = False) -> str:
    """The rule as first written, character by character (its code before
    the patterns: a hundredth of a create's CPU went to it)."""
    text = value.strip()
    allowed = "\n\t" if lines else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise ValidationError(field, "must not contain control characters")
    visible = sum(not c.isspace() and unicodedata.category(c) != "Cf" for c in text)
    if visible < low:
        raise ValidationError(
            field, "must not be empty" if low <= 1 else f"must be at least {low} characters"
        )
    if len(text) > high:
        raise ValidationError(field, f"must be at most {high} characters")
    return text


def outcome(rule: object, value: str, low: int, high: int, lines: bool) -> object:
    try:
        return rule("name", value, low, high, lines=lines)  # type: ignore[operator]
    except ValidationError as err:
        return (err.field, err.reason)


tricky = st.sampled_from(
    ["\u200b", "\u200d", "\ufeff", "\u00ad", "\x00", "\x1f", "\x7f", "\x85", "\x9f", "\xa0",
     "\u2028", "\u3000", "\n", "\t", "\r", " ", "e\u0301", "Zoë", "İ", "🙂", "a", "-"]
)  # fmt: skip
texts = st.one_of(st.text(max_size=12), st.lists(tricky, max_size=8).map("".join))


@given(texts, st.integers(1, 3), st.integers(0, 10), st.booleans())
@example("a\xa0b", 3, 10, False)  # a space only str.isspace() knows, inside
@example("a\u3000b\u200bc", 4, 10, False)
@example("a\u2028\tb", 3, 10, True)
@example("\u200b\u200b", 1, 10, False)  # nothing visible
def test_the_rule_decides_as_the_reference(value: str, low: int, high: int, lines: bool) -> None:
    assert outcome(_text, value, low, high, lines) == outcome(reference, value, low, high, lines)


@pytest.mark.parametrize(("pattern", "kept"), [(_CONTROL, ""), (_CONTROL_BUT_LINES, "\n\t")])
def test_the_control_pattern_is_unicodes_cc(pattern: re.Pattern[str], kept: str) -> None:
    every = (chr(i) for i in range(0x110000))
    matched = {c for c in every if pattern.match(c)}
    expected = {chr(i) for i in range(0x110000) if unicodedata.category(chr(i)) == "Cc"}
    assert matched == expected - set(kept)
