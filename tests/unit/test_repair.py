"""The repairer: what it fixes exactly, and what it refuses rather than guesses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import extract

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
CONTAINERS = st.one_of(
    st.lists(JSON, max_size=4), st.dictionaries(st.text(max_size=6), JSON, max_size=4)
)


@pytest.mark.parametrize(
    ("text", "value", "fix"),
    [
        ('{"a": 1}', {"a": 1}, None),
        ('Sure!\n```json\n{"a": [1, 2]}\n```\nAnything else?', {"a": [1, 2]}, "markdown fence"),
        ('The record is {"a": "x"}. Hope it helps.', {"a": "x"}, "prose"),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}, "trailing commas"),
        ("{'a': 'it\\'s', 'b': None, 'c': True}", {"a": "it's", "b": None, "c": True}, "Python"),
        ('{"a": 1, // one\n "b": "http://x" /* two */}', {"a": 1, "b": "http://x"}, "comments"),
        ('{"a": "\\f", "b": 2,}', {"a": "\f", "b": 2}, "trailing commas"),
        ("```\n42\n```", 42, "markdown fence"),
        ('Note { see below } then {"a": 1}', {"a": 1}, "prose"),  # braces in prose
        ('It\'s {"a": [1, {"b": "}"}]} done', {"a": [1, {"b": "}"}]}, "prose"),
    ],
)
def test_repairs(text: str, value: Any, fix: str | None) -> None:
    repaired = extract.repair_json(text)
    assert repaired.value == value
    assert json.loads(repaired.text) == value
    if fix is None:
        assert repaired.fixes == ()
    else:
        assert any(fix in f for f in repaired.fixes), repaired.fixes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("I could not find any record in this text.", "no_json"),
        ('{"a": "hello wor', "truncated"),
        ('Here you go: [1]. {"a": [1, 2', "truncated"),
        ('```json\n{"a": 1, "b": {"c"', "truncated"),
    ],
)
def test_refuses(text: str, reason: str) -> None:
    with pytest.raises(extract.UnrepairableOutputError) as info:
        extract.repair_json(text)
    assert info.value.reason == reason


@given(CONTAINERS, st.sampled_from(["plain", "indented", "fenced", "prose", "python"]))
def test_valid_json_in_any_wrapping_comes_back_equal(value: Any, style: str) -> None:
    text = {
        "plain": json.dumps(value),
        "indented": json.dumps(value, indent=2, ensure_ascii=False),
        "fenced": f"```json\n{json.dumps(value)}\n```",
        "prose": f"Here it is:\n{json.dumps(value)}\nDone.",
        "python": repr(value),
    }[style]
    assert extract.repair_json(text).value == value


@given(CONTAINERS.filter(lambda v: len(json.dumps(v)) > 2), st.data())
def test_any_cut_inside_the_brackets_is_reported_as_truncation(value: Any, data: Any) -> None:
    text = json.dumps(value)
    cut = data.draw(st.integers(1, len(text) - 1))
    with pytest.raises(extract.UnrepairableOutputError) as info:
        extract.repair_json(text[:cut])
    assert info.value.reason == "truncated"


def test_parse_validates_after_repair() -> None:
    from pydantic import BaseModel

    class Point(BaseModel):
        x: int
        y: int

    assert extract.parse(Point, "```json\n{'x': 1, 'y': 2}\n```") == Point(x=1, y=2)
    with pytest.raises(extract.ParseError) as info:
        extract.parse(Point, '{"x": 1}')
    assert info.value.reason == "invalid"
    assert any("/y" in e for e in info.value.errors)
    with pytest.raises(extract.ParseError) as cut:
        extract.parse(Point, '{"x": 1, "y":')
    assert cut.value.reason == "truncated"
