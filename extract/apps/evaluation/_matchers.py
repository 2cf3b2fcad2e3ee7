"""When a predicted leaf value counts as the gold one.

A matcher is any ``(predicted, gold) -> bool`` on JSON values. The default for a field
follows its schema: enums, constants, formatted strings (dates, emails...) and booleans
must be equal; numbers equal within a relative tolerance; other strings equal after
Unicode NFKC, case folding and collapsing whitespace.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from extract.core._errors import UsageError

Matcher = Callable[[Any, Any], bool]


def normalized(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: how text fields are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def exact(predicted: Any, gold: Any) -> bool:
    """Equal, and a bool never equals a number."""
    return isinstance(predicted, bool) == isinstance(gold, bool) and bool(predicted == gold)


def text(predicted: Any, gold: Any) -> bool:
    """Strings equal after ``normalized``; anything else as ``exact``."""
    if isinstance(predicted, str) and isinstance(gold, str):
        return normalized(predicted) == normalized(gold)
    return exact(predicted, gold)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(tolerance: float = 1e-6, absolute: float = 0.0) -> Matcher:
    """Numbers equal within ``tolerance`` (relative) or ``absolute``; anything else as
    ``exact``."""
    if tolerance < 0 or absolute < 0:
        raise UsageError("number(): tolerances must be >= 0")

    def match(predicted: Any, gold: Any) -> bool:
        if _is_number(predicted) and _is_number(gold):
            return math.isclose(predicted, gold, rel_tol=tolerance, abs_tol=absolute)
        return exact(predicted, gold)

    match.__name__ = f"number({tolerance}, {absolute})"
    return match


def fuzzy(threshold: float = 0.9) -> Matcher:
    """Strings whose normalized forms are at least ``threshold`` similar (difflib's
    ratio: twice the matching characters over both lengths); anything else as ``text``."""
    if not 0 <= threshold <= 1:
        raise UsageError(f"fuzzy(): the threshold must be in [0, 1], not {threshold!r}")

    def match(predicted: Any, gold: Any) -> bool:
        if isinstance(predicted, str) and isinstance(gold, str):
            a, b = normalized(predicted), normalized(gold)
            return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= threshold
        return text(predicted, gold)

    match.__name__ = f"fuzzy({threshold})"
    return match


NAMED: dict[str, Callable[[], Matcher]] = {
    "exact": lambda: exact,
    "text": lambda: text,
    "number": number,
    "fuzzy": fuzzy,
}


def matcher_from(spec: str | Matcher) -> Matcher:
    """A matcher from its name ("exact", "text", "number", "fuzzy") or a callable."""
    if isinstance(spec, str):
        if spec not in NAMED:
            raise UsageError(f"unknown matcher {spec!r}; known: {sorted(NAMED)} or a callable")
        return NAMED[spec]()
    if not callable(spec):
        raise UsageError(f"a matcher is a name or a callable, not {spec!r}")
    return spec


# -- the schema at a path ------------------------------------------------------------


class SchemaPaths:
    """Walks a JSON Schema by field name and list position, through ``$ref``s and the
    branches of ``anyOf``/``oneOf``/``allOf``, to choose each leaf's default matcher and
    to check that a matcher's path names a field."""

    def __init__(self, schema: Mapping[str, Any], tolerance: float) -> None:
        self.root = schema
        self.numbers = number(tolerance)

    def _branches(self, schema: Any) -> Iterator[Mapping[str, Any]]:
        seen = 0
        stack = [schema]
        while stack and seen < 64:  # recursive schemas: enough to find the branches
            node = stack.pop()
            if not isinstance(node, Mapping):
                continue
            seen += 1
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                stack.append(self._pointer(ref))
            for key in ("anyOf", "oneOf", "allOf"):
                stack.extend(node.get(key) or ())
            yield node

    def _pointer(self, ref: str) -> Any:
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, Mapping) else None
        return node

    def shapes(self, schema: Any) -> set[str]:
        """What a value of ``schema`` can be: "object", "array" (any length), "tuple"
        (positions, ``prefixItems``), "scalar"; empty when the schema does not say."""
        out: set[str] = set()
        for node in self._branches(schema or {}):
            types = node.get("type")
            types = set(types) if isinstance(types, list) else {types} - {None}
            if "properties" in node or "additionalProperties" in node or "object" in types:
                out.add("object")
            if "prefixItems" in node:
                out.add("tuple")
            elif isinstance(node.get("items"), Mapping) or "array" in types:
                out.add("array")
            if types - {"object", "array"} or "enum" in node or "const" in node:
                out.add("scalar")
        return out

    def positional(self, schema: Any) -> bool:
        """A tuple: items are compared by position, not paired."""
        shapes = self.shapes(schema)
        return "tuple" in shapes and "array" not in shapes

    def child(self, schema: Any, key: str) -> Any:
        """The schema of ``key`` (a field name, ``*`` for list items, or a position in a
        tuple); None if the schema says there is no such thing, {} if it does not say."""
        if schema is None:
            return None
        for node in self._branches(schema):
            prefix = node.get("prefixItems")
            if key == "*":
                if isinstance(node.get("items"), Mapping) and not prefix:
                    return node["items"]
                if node.get("type") == "array" and not prefix:
                    return {}
            elif key.isdigit() and isinstance(prefix, list):
                if int(key) < len(prefix):
                    return prefix[int(key)]
                if isinstance(node.get("items"), Mapping):
                    return node["items"]
            else:
                props = node.get("properties")
                if isinstance(props, Mapping) and key in props:
                    return props[key]
                extra = node.get("additionalProperties")
                if isinstance(extra, Mapping):
                    return extra
        return None if self.shapes(schema) else {}

    def at(self, path: str) -> Any:
        node: Any = self.root
        for part in path.split("/")[1:]:
            node = self.child(node, part.replace("~1", "/").replace("~0", "~"))
        return node

    def default(self, schema: Any) -> Matcher:
        """Plain strings as ``text`` (numbers in a union with them within the tolerance),
        other numbers within the tolerance, integers, enums, constants, formatted strings
        and booleans exactly."""
        kinds: set[str] = set()
        for node in self._branches(schema or {}):
            types = node.get("type")
            types = types if isinstance(types, list) else [types]
            fixed = "enum" in node or "const" in node or "format" in node
            if fixed or "boolean" in types:
                kinds.add("exact")
            if "string" in types and not fixed:
                kinds.add("text")
            if "number" in types:
                kinds.add("number")
            elif "integer" in types:
                kinds.add("integer")
        if "text" in kinds or not kinds:
            return _text_or_number(self.numbers)
        if "number" in kinds:
            return self.numbers
        return exact


def _text_or_number(numbers: Matcher) -> Matcher:
    def match(predicted: Any, gold: Any) -> bool:
        if _is_number(predicted) and _is_number(gold):
            return numbers(predicted, gold)
        return text(predicted, gold)

    return match
