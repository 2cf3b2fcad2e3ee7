"""The loop detector of the local decoder, on token sequences."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from backends._loops import (
    CLOSES,
    LOOP_COPIES,
    LOOP_MAX_SPAN,
    LOOP_MIN_SPAN,
    open_value,
    repeating,
)

tokens = st.lists(st.integers(0, 50), max_size=60)


@given(prefix=tokens, span=st.lists(st.integers(0, 50), min_size=LOOP_MIN_SPAN, max_size=40))
def test_a_span_written_three_times_is_found(prefix: list[int], span: list[int]) -> None:
    out = prefix + span * LOOP_COPIES
    found = repeating(out)
    assert LOOP_MIN_SPAN <= found <= len(span)  # the span, or a shorter period within it
    tail = out[-found:]
    assert all(out[-(k + 1) * found : len(out) - k * found] == tail for k in range(LOOP_COPIES))


@given(prefix=tokens, span=st.lists(st.integers(0, 50), min_size=LOOP_MIN_SPAN, max_size=40))
def test_two_copies_are_not_a_loop(prefix: list[int], span: list[int]) -> None:
    out = prefix + span * 2
    found = repeating(out)
    if found:  # only if the sequence itself holds a shorter three-fold loop
        tail = out[-found:]
        assert all(out[-(k + 1) * found : len(out) - k * found] == tail for k in range(3))


def test_short_runs_and_distinct_text_are_left_alone() -> None:
    assert repeating([7] * (LOOP_MIN_SPAN * LOOP_COPIES - 1)) == 0
    assert repeating(list(range(500))) == 0
    long_span = list(range(LOOP_MAX_SPAN + 1))
    assert repeating(long_span * LOOP_COPIES) == 0  # longer than any span we compare


# Strings rich in what a lexer can get wrong: quotes, backslashes, digits.
tricky_text = st.text(alphabet=st.sampled_from('a"\\0-.e é\n')) | st.text()
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=12,
)
# The JSON lexer, written independently of open_value: strings with escapes, numbers.
LEXEME = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|.')


def open_at(text: str, cut: int) -> str | None:
    for lexeme in LEXEME.finditer(text):
        start, end = lexeme.span()
        if lexeme.group()[0] == '"' and start < cut < end:
            return "string"
        if lexeme.group()[0] in "-0123456789" and start < cut <= end:
            return "number"
    return None


@given(value=json_values, ascii_only=st.booleans(), data=st.data())
def test_open_value_knows_whether_a_cut_is_inside_a_string_or_number(
    value: object, ascii_only: bool, data: st.DataObject
) -> None:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only)
    cut = data.draw(st.integers(0, len(text)))
    assert open_value(text[:cut].encode()) == open_at(text, cut)


def test_what_may_close_each_kind_of_loop() -> None:
    assert [CLOSES["list"](p) for p in (b"}", b"}]", b" ]", b"},", b",", b"0", b"")] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    assert [CLOSES["string"](p) for p in (b'"', b'",', b'"}', b'a"', b" ")] == [
        True, True, True, False, False,
    ]  # fmt: skip
    assert [CLOSES["number"](p) for p in (b",", b'},"', b"]", b"0", b".", b"e", b"")] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
