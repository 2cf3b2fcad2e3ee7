"""The loop detector of the local decoder, on token sequences."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.backends._loops import (
    CLOSES,
    LOOP_COPIES,
    LOOP_MAX_SPAN,
    LOOP_MIN_SPAN,
    NEAR_COPIES,
    in_list_string,
    near_repeating,
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
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=4)
    ),
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


# Token ids 0-9 stand for digit tokens, the rest for anything else.
DIGITS = np.arange(60) < 10
items = st.lists(st.integers(0, 59), min_size=LOOP_MIN_SPAN, max_size=20).filter(
    lambda item: sum(t < 10 for t in item) > 0 and sum(t >= 10 for t in item) >= 2
)


def counted(item: list[int], k: int) -> list[int]:
    """``item`` with its digit tokens replaced by digits of ``k`` (counting up)."""
    digits = [int(d) for d in f"{k:020d}"]
    places = [i for i, t in enumerate(item) if t < 10]
    out = list(item)
    for n, i in enumerate(places):
        out[i] = digits[-len(places) + n]
    return out


@given(prefix=st.lists(st.integers(10, 59), max_size=30), item=items, start=st.integers(0, 900))
def test_items_that_differ_only_in_digits_are_a_near_loop(
    prefix: list[int], item: list[int], start: int
) -> None:
    out = prefix + [t for k in range(NEAR_COPIES) for t in counted(item, start + k)]
    found = near_repeating(out, DIGITS)
    assert LOOP_MIN_SPAN <= found <= len(item)
    shape = [-1 if t < 10 else t for t in out]
    assert all(
        shape[-(k + 1) * found : len(out) - k * found] == shape[-found:] for k in range(NEAR_COPIES)
    )


@given(prefix=st.lists(st.integers(10, 59), max_size=30), item=items, start=st.integers(0, 900))
def test_fewer_near_copies_are_left_alone(prefix: list[int], item: list[int], start: int) -> None:
    out = prefix + [t for k in range(NEAR_COPIES - 1) for t in counted(item, start + k)]
    found = near_repeating(out, DIGITS)
    if found:  # only if the item itself holds a shorter period
        shape = [-1 if t < 10 else t for t in out]
        tail = shape[-found:]
        assert all(shape[-(k + 1) * found : len(out) - k * found] == tail for k in range(5))


def test_a_long_number_is_not_a_near_loop() -> None:
    assert near_repeating([11, 12] + list(range(10)) * 40, DIGITS) == 0


strings = st.text(alphabet=st.sampled_from('ab"\\, [0'), max_size=8)


@given(st.lists(strings, min_size=1, max_size=4), st.data())
def test_a_cut_inside_a_list_item_string_is_found(values: list[str], data: st.DataObject) -> None:
    text = json.dumps(values, separators=(",", ":")).encode()
    in_strings = [at for at in range(1, len(text)) if open_value(text[:at]) == "string"]
    at = data.draw(st.sampled_from(in_strings))
    assert in_list_string(text[:at])
    record = json.dumps({"k": values[0]}, separators=(",", ":")).encode()
    inside_value = [
        i for i in range(len(b'{"k":"'), len(record)) if open_value(record[:i]) == "string"
    ]
    assert not any(in_list_string(record[:i]) for i in inside_value)
    assert not in_list_string(b'{"ke')  # a key


def test_string_list_closers_close_the_item_then_brackets_only() -> None:
    closes = CLOSES["string list"]
    assert closes(b'"]') and closes(b'"]}') and closes(b' "]')
    assert not closes(b'",') and not closes(b'"') and not closes(b"]")


@pytest.fixture(scope="module")
def vocabulary(tokenizer: Any) -> Iterator[Any]:
    """The embedded model's vocabulary (no weights), as the decoder sees it."""
    import llama_cpp

    from extract.backends._answer import Vocabulary
    from extract.core._model import default_model_path

    llm = llama_cpp.Llama(model_path=default_model_path(), vocab_only=True, verbose=False)
    yield Vocabulary(llm, tokenizer, fast_forward=True)
    llm.close()


def _looped(vocabulary: Any, text: str) -> tuple[list[int], int]:
    out = list(vocabulary.llm.tokenize(text.encode(), add_bos=False, special=False))
    return out, repeating(out)


def _allowed_pieces(vocabulary: Any, banned: Any) -> set[bytes]:
    allowed = np.ones(vocabulary.n_vocab, dtype=bool)
    allowed[banned] = False
    decode = vocabulary.tokenizer.decode_bytes
    return {decode([int(t)]).strip() for t in np.flatnonzero(allowed)}


def test_a_loop_of_records_ending_in_a_string_is_closed_by_a_quote(vocabulary: Any) -> None:
    item = '{"text":"Greywater Point","kind":"place"},'
    out, span = _looped(vocabulary, '[{"text":"a whale","kind":"person"},' + item * 3)
    assert span
    at, banned, ends_list = vocabulary.loop_exit(out, span)
    kept = vocabulary.tokenizer.decode_bytes(out[:at]).decode()
    # one copy kept, its last string still open: the way out closes it and the item
    assert ends_list and kept == '[{"text":"a whale","kind":"person"},' + item[:-3]
    closers = _allowed_pieces(vocabulary, banned)
    assert b'"}' in closers and b'"},' not in closers and b"," not in closers
    assert vocabulary.is_closer(int(vocabulary.llm.tokenize(b'"}', add_bos=False)[0]))


def test_a_loop_of_strings_in_a_list_ends_the_list(vocabulary: Any) -> None:
    out, span = _looped(vocabulary, '{"skus":["NPK-2041' + '","NPK-2042' * 3)
    assert span
    at, banned, ends_list = vocabulary.loop_exit(out, span)
    assert ends_list  # cut before the '","' that would start the next item
    assert vocabulary.tokenizer.decode_bytes(out[:at]).decode() == '{"skus":["NPK-2041'
    closers = _allowed_pieces(vocabulary, banned)
    assert b'"]' in closers and b'",' not in closers and b'","' not in closers
