"""The incremental JSON parser, fed one character at a time (Hypothesis)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import extract.schemas as schemas
from extract.features.streaming import PartialParser

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


def at(value: Any, pointer: str) -> Any:
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def leaves(value: Any, pointer: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [
            x
            for k, v in value.items()
            for x in leaves(v, f"{pointer}/{k.replace('~', '~0').replace('/', '~1')}")
        ]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in leaves(v, f"{pointer}/{i}")]
    return [(pointer, value)]


@given(JSON, st.sampled_from([None, 1]), st.booleans())
def test_every_snapshot_is_consistent_with_the_final_value(
    value: Any, indent: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    parser = PartialParser()
    for ch in text:
        for pointer in parser.feed(ch):
            assert at(parser.root, pointer) == at(value, pointer)  # complete means final
        if parser.has_root:
            for pointer, leaf in leaves(parser.root):
                # every scalar shown is complete: no half-written number or literal
                if not (isinstance(leaf, (dict, list))):
                    assert at(value, pointer) == leaf
                    assert pointer in parser.done
        if parser.growing is not None:
            pointer, partial = parser.growing
            assert at(value, pointer).startswith(partial)
    assert parser.close() == value
    assert parser.steps == len(text)  # each character read once: linear
    assert parser.done[-1] == ""


@given(JSON, st.integers(1, 5))
def test_a_view_never_changes_once_taken(value: Any, step: int) -> None:
    """Views share complete values and copy the open containers: feeding more never
    changes one, and each is what the parser held when it was taken."""
    text = json.dumps(value, separators=(",", ":"))
    parser = PartialParser()
    views: list[tuple[Any, str]] = []
    for start in range(0, len(text), step):
        parser.feed(text[start : start + step])
        if parser.has_root:
            view = parser.view()
            views.append((view, json.dumps(view)))
    for view, when_taken in views:
        assert json.dumps(view) == when_taken
    if isinstance(value, (dict, list)):  # a bare number ends only at close()
        assert views[-1][0] == value


@pytest.mark.parametrize("text", ["{", '{"a" 1}', "[1,]", "[1 2]", "tru", "nul!", '"\\q"', "1 2"])
def test_bad_or_unfinished_json_is_refused(text: str) -> None:
    parser = PartialParser()
    with pytest.raises(ValueError):
        parser.feed(text)
        parser.close()


def test_a_number_appears_only_once_it_is_ended() -> None:
    parser = PartialParser()
    parser.feed('{"price": 1')
    assert parser.root == {}
    parser.feed(".5")
    assert parser.root == {}
    assert parser.feed(",") == ["/price"] and parser.root == {"price": 1.5}


def walk_pointers(value: Any, pointer: str = "") -> list[tuple[str, Any]]:
    """Every (pointer, value) in ``value``, built with ``schemas.child_pointer``."""
    found = [(pointer, value)]
    if isinstance(value, dict):
        for key, child in value.items():
            found += walk_pointers(child, schemas.child_pointer(pointer, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += walk_pointers(child, schemas.child_pointer(pointer, index))
    return found


@given(JSON, st.text(max_size=3))
@example([], "¹")  # a digit to str.isdigit, not to int()
@example([1], "00")  # not an index: leading zero
def test_value_at_finds_every_pointer_and_no_other(value: Any, extra: str) -> None:
    for pointer, child in walk_pointers(value):
        assert schemas.value_at(value, pointer) == (True, child)
        missing = schemas.child_pointer(pointer, extra)
        if not (isinstance(child, dict) and extra in child) and not (
            isinstance(child, list)
            and re.fullmatch(r"0|[1-9][0-9]*", extra)
            and int(extra) < len(child)
        ):
            assert schemas.value_at(value, missing) == (False, None)


@given(JSON, st.lists(st.integers(1, 4), min_size=1, max_size=50), st.booleans())
def test_the_follower_reads_utf8_bytes_in_any_chunks(
    value: Any, sizes: list[int], wrapped: bool
) -> None:
    """An answer's bytes cut anywhere (inside a multi-byte character too), optionally
    wrapped as a provider sends a non-object root: every snapshot is consistent with
    the final value, and the last one is the value."""
    from extract.features.streaming import Follower, Snapshot

    snapshots: list[Snapshot] = []
    follower = Follower(1, snapshots.append, lambda pointer: True)
    if wrapped:
        follower.within("/value")
    data = json.dumps({"value": value} if wrapped else value, ensure_ascii=False).encode()
    told, turn = 0, 0
    while told < len(data):
        piece = data[told : told + sizes[turn % len(sizes)]]
        follower(told, piece)
        told, turn = told + len(piece), turn + 1
    for snap in snapshots:
        for pointer in snap.done:
            assert at(snap.value, pointer) == at(value, pointer)
        for pointer, leaf in leaves(snap.value):
            if not isinstance(leaf, (dict, list)):
                assert at(value, pointer) == leaf and pointer in snap.done
        if snap.growing is not None:
            assert at(value, snap.growing[0]).startswith(snap.growing[1])
    bare_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if wrapped or not bare_number:  # a bare number ends only at close()
        assert snapshots[-1].value == value and snapshots[-1].done[-1] == ""
