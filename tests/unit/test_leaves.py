"""``schemas.leaf_spans``: every leaf of a JSON text, by pointer, where it stands."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from extract.schemas import child_pointer, leaf_spans, value_at

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def leaves(value: Any, pointer: str = "") -> dict[str, Any]:
    """The reference: every scalar of a parsed value by pointer (the last of repeated
    keys, as JSON reads them)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(leaves(item, child_pointer(pointer, key)))
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(leaves(item, child_pointer(pointer, index)))
        return out
    return {pointer: value}


@given(
    VALUES,
    st.sampled_from([None, 0, 2]),
    st.sampled_from([(",", ":"), (", ", ": ")]),
    st.booleans(),
)
@example({"a/b": [1, {"~": "x"}], "": True}, None, (",", ":"), True)
def test_every_leaf_is_found_where_it_stands(
    value: Any, indent: int | None, separators: tuple[str, str], ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=ascii_only)
    text = f" \n{text}\t"
    spans = leaf_spans(text)
    expected = leaves(json.loads(text))
    assert set(spans) == set(expected)
    for pointer, (start, end) in spans.items():
        assert json.loads(text[start:end]) == expected[pointer]
        found, at = value_at(json.loads(text), pointer)
        assert found and at == expected[pointer]


@given(st.text(max_size=30))
def test_any_text_gives_leaves_or_a_value_error(text: str) -> None:
    try:
        spans = leaf_spans(text)
    except ValueError:
        with pytest.raises(ValueError):
            json.loads(text)  # refused only where JSON refuses it too
        return
    for start, end in spans.values():
        assert 0 <= start < end <= len(text)


def test_a_cut_answer_and_deep_nesting_are_value_errors() -> None:
    for text in ['{"a": 1', '{"a" 1}', "[1,]", "1 2", "", "[" * 5000 + "]" * 5000]:
        with pytest.raises(ValueError):
            leaf_spans(text)
    assert leaf_spans('{"a": [], "b": {}}') == {}
