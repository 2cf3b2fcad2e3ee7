"""Where each leaf of a JSON text stands: JSON pointer -> (start, end) in the text.

The confidence of a value is read off the tokens that wrote it, so the core needs to
know which characters of an answer hold which value. ``json`` parses values but keeps
no positions; this walks the containers itself and lets ``json``'s own decoder read
each key and scalar, so what counts as JSON stays the standard library's.
"""

from __future__ import annotations

import json
import re

from ._fields import child_pointer

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def leaf_spans(text: str) -> dict[str, tuple[int, int]]:
    """Every scalar of the one JSON value in ``text`` (a string with its quotes, a
    number, ``true``, ``false``, ``null``) by JSON pointer, as character offsets, end
    exclusive. Empty objects and lists hold no leaf. ``ValueError`` if ``text`` is not
    one JSON value (or nests deeper than Python can walk)."""
    spans: dict[str, tuple[int, int]] = {}
    try:
        end = _value(text, _skip(text, 0), "", spans)
    except RecursionError:
        raise ValueError("JSON nested too deeply to walk") from None
    if _skip(text, end) != len(text):
        raise ValueError(f"extra data after the JSON value at character {end}")
    return spans


def _skip(text: str, at: int) -> int:
    match = _WHITESPACE.match(text, at)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _expect(text: str, at: int, chars: str) -> str:
    found = text[at : at + 1]
    if not found or found not in chars:
        shown = " or ".join(repr(c) for c in chars)
        raise ValueError(f"expected {shown} at character {at}, found {found!r}")
    return found


def _value(text: str, at: int, pointer: str, spans: dict[str, tuple[int, int]]) -> int:
    """Reads the value at ``at``; the index after it."""
    opening = text[at : at + 1]
    if opening == "{":
        at = _skip(text, at + 1)
        if text[at : at + 1] == "}":
            return at + 1
        while True:
            _expect(text, at, '"')
            key, at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            _expect(text, at, ":")
            at = _value(text, _skip(text, at + 1), child_pointer(pointer, key), spans)
            at = _skip(text, at)
            if _expect(text, at, ",}") == "}":
                return at + 1
            at = _skip(text, at + 1)
    if opening == "[":
        at = _skip(text, at + 1)
        if text[at : at + 1] == "]":
            return at + 1
        index = 0
        while True:
            at = _value(text, at, child_pointer(pointer, index), spans)
            at = _skip(text, at)
            if _expect(text, at, ",]") == "]":
                return at + 1
            at = _skip(text, at + 1)
            index += 1
    try:
        _, end = _DECODER.raw_decode(text, at)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON value at character {at}: {exc.msg}") from None
    spans[pointer] = (at, end)
    return int(end)
