"""A submitted review form back to JSON (see ``_form`` for the keys it carries).

What cannot be read as its field's type (``"12 kg"`` in a number box) is passed on as
the text typed, so the target's validator names the problem in its own words and the
form shows it again as typed. Only JSON text that does not parse is reported here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from extract.schemas import FieldNode as Node
from extract.schemas import child_pointer

from ._form import MISSING, key_of

_INDEX = re.compile(r"0|[1-9][0-9]*")
# JSON typed into one field may nest this deep; no record a person reviews nests more.
MAX_NESTING = 64
_SHOWN = 200  # characters of a refused value shown back in the form


class Submission:
    """The form's fields: key -> text, the keys set to none, the keys of lists."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        self.nulls: set[str] = set()
        self.lists: set[str] = set()
        for name, text in items:
            if name == "__null__":
                self.nulls.add(text)
            elif name == "__list__":
                self.lists.add(text)
            elif name.startswith("v"):
                self.values[name] = text
        self._children: dict[str, set[int]] = {}
        for key in [*self.values, *self.nulls, *self.lists]:
            self._index(key)

    def _index(self, key: str) -> None:
        # Every prefix of a key that ends in an index: the list positions submitted.
        parts = key.split("/")
        for depth in range(1, len(parts)):
            if _INDEX.fullmatch(parts[depth]):
                parent = "/".join(parts[:depth])
                self._children.setdefault(parent, set()).add(int(parts[depth]))

    def indices(self, key: str) -> list[int]:
        return sorted(self._children.get(key, ()))


def read_form(root: Node, items: Iterable[tuple[str, str]]) -> tuple[Any, dict[str, list[str]]]:
    """The JSON value of a submission (``MISSING`` if it holds nothing) and the problems
    found before validation (pointer -> messages)."""
    problems: dict[str, list[str]] = {}
    value = _read(root, "", Submission(items), problems, in_list=False)
    return value, problems


def _read(
    node: Node, pointer: str, form: Submission, problems: dict[str, list[str]], in_list: bool
) -> Any:
    key = key_of(pointer)
    if node.nullable and key in form.nulls:
        return None
    if node.kind == "object":
        out = {}
        for name, child in node.fields.items():
            value = _read(child, child_pointer(pointer, name), form, problems, in_list=False)
            if value is not MISSING:
                out[name] = value
        return out
    if node.kind == "array":
        assert node.item is not None
        indices = form.indices(key)
        if not indices and key not in form.lists:
            return MISSING
        items = []
        for i in indices:
            value = _read(node.item, child_pointer(pointer, i), form, problems, in_list=True)
            items.append("" if value is MISSING else value)  # the validator says what is wrong
        return items
    text = form.values.get(key)
    if text is None:
        return MISSING
    if node.kind == "text":
        return text.replace("\r\n", "\n")  # browsers submit text area lines with CRLF
    if not text.strip():
        return "" if in_list else MISSING
    if node.kind == "integer":
        try:
            return int(text.strip())
        except ValueError:
            return text
    if node.kind in ("number", "choice", "json", "boolean"):
        if _nesting(text) > MAX_NESTING:  # json.loads would recurse past Python's limit
            problems.setdefault(pointer, []).append(
                f"nested deeper than {MAX_NESTING} levels: not read"
            )
            return text[:_SHOWN]
        try:
            return json.loads(text)
        except ValueError as exc:
            if node.kind == "json":
                problems.setdefault(pointer, []).append(f"not JSON: {exc}")
            return text
    return text  # a date: ISO text, as the validator reads it


def _nesting(text: str) -> int:
    """How deep the brackets of ``text`` go (counting those inside strings too: an
    upper bound, which is all the check needs)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
