"""Grounded strings: values that must be copied from the input text.

A schema marks such a string with ``"x-grounded": "words"`` (or ``"chars"``). For a
local model the grammar then allows only verbatim substrings of the document: the
structure around grounded fields is written out as a Lark grammar, every subtree
without one stays JSON Schema (``%json {...}``, compiled by llguidance as usual), and
each grounded string is llguidance's ``substring_chunks`` over the document's words.

Why the chunks are made here and not with llguidance's ``substring_words``: inside a
JSON string the text must be escaped, and a substring of the escaped text could cut an
escape in two (``\\"`` after a word, ``\\n`` between lines). Each chunk is one word,
one punctuation mark or one run of whitespace, escaped on its own, so any run of
chunks is valid JSON string content; a value may not start or end with whitespace and
may not be empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

GROUNDED = "x-grounded"
Level = Literal["words", "chars"]

_PIECES = re.compile(r"\w+|\s+|[^\w\s]")
# Escaped content that neither starts nor ends with whitespace (a space, \n, \t, \r).
_TRIMMED = r"/([^ \\]|\\[^ntr]).*/ & /(.*[^\\])?[ntr]|.*[^ \\ntr]|.*\\\\/"
# One character of the text inside a JSON string: itself, or its escape.
_CHAR = r'([^\\"]|\\(["\\\/bfnrt]|u[0-9a-fA-F]{4}))'


def is_grounded(schema: Any, root: Mapping[str, Any] | None = None) -> bool:
    """Whether ``schema`` (resolved against ``root``'s ``$defs``) has a grounded string."""
    return any(True for _ in _marks(schema, root or schema, set()))


def _marks(schema: Any, root: Mapping[str, Any], seen: set[str]) -> Iterator[str]:
    if isinstance(schema, Mapping):
        if schema.get(GROUNDED) in ("words", "chars"):
            yield str(schema[GROUNDED])
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            yield from _marks(_resolve(root, ref), root, seen)
        for key, value in schema.items():
            if key != "$defs":
                yield from _marks(value, root, seen)
    elif isinstance(schema, list):
        for item in schema:
            yield from _marks(item, root, seen)


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    if not ref.startswith("#"):
        return None
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def chunks(text: str, level: Level = "words") -> list[str]:
    """The document as JSON-escaped pieces whose runs are the allowed values."""
    pieces = list(text) if level == "chars" else _PIECES.findall(text)
    return [json.dumps(piece, ensure_ascii=False)[1:-1] for piece in pieces]


def grounded_lark(schema: Mapping[str, Any], text: str, options: Mapping[str, Any]) -> str:
    """A Lark grammar for ``schema`` whose grounded strings are substrings of ``text``.

    ``options`` are the JSON compile options every ``%json`` subtree uses (compact
    separators), so the whole answer is written as the plain JSON grammar would."""
    return _LarkWriter(schema, text, options).grammar()


class _LarkWriter:
    def __init__(self, root: Mapping[str, Any], text: str, options: Mapping[str, Any]) -> None:
        self.root = root
        self.text = text
        self.options = dict(options)
        self.rules: dict[str, str] = {}
        self.terminals: dict[str, str] = {}
        self.refs: dict[str, str] = {}
        self._grounded: dict[int, bool] = {}  # by id: subtrees of the root, alive throughout

    def grammar(self) -> str:
        start = self.expr(self.root)
        lines = [f"start: {start}"]
        lines += [f"{name}: {body}" for name, body in self.rules.items()]
        lines += [f"{name}: {body}" for name, body in self.terminals.items()]
        return "\n".join(lines)

    def grounded(self, schema: Mapping[str, Any]) -> bool:
        """``is_grounded``, once per subtree: the writer asks at every level."""
        found = self._grounded.get(id(schema))
        if found is None:
            found = self._grounded[id(schema)] = is_grounded(schema, self.root)
        return found

    def rule(self, body: str) -> str:
        name = f"r{len(self.rules)}"
        self.rules[name] = body
        return name

    def expr(self, schema: Any) -> str:
        """A Lark expression matching the compact JSON of ``schema``'s values."""
        if not isinstance(schema, Mapping):
            return self.json(schema)
        ref = schema.get("$ref")
        if isinstance(ref, str) and len(schema) == 1 and self.grounded(schema):
            return self.reference(ref)
        if not self.grounded(schema):
            return self.json(schema)
        level = schema.get(GROUNDED)
        if level in ("words", "chars") and schema.get("type", "string") == "string":
            return self.quote(level, schema.get("minLength"), schema.get("maxLength"))
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and set(schema) - {key} <= _ANNOTATIONS:
                return "(" + " | ".join(self.expr(branch) for branch in schema[key]) + ")"
        kind = schema.get("type")
        if isinstance(kind, list):
            return "(" + " | ".join(self.expr({**schema, "type": k}) for k in kind) + ")"
        if kind == "null":
            return '"null"'
        if kind == "object" and isinstance(schema.get("properties"), Mapping):
            return self.object(schema)
        if (
            kind == "array"
            and isinstance(schema.get("items"), Mapping)
            and "prefixItems" not in schema
        ):
            return self.array(schema)
        # Anything else (allOf, conditionals, tuples...) stays JSON Schema: the grounded
        # strings inside are then checked against the text after decoding.
        return self.json(schema)

    def reference(self, ref: str) -> str:
        if ref not in self.refs:
            name = self.refs[ref] = f"d{len(self.refs)}"
            self.rules[name] = ""  # reserved first: a recursive schema refers to itself
            self.rules[name] = self.expr(_resolve(self.root, ref))
        return self.refs[ref]

    def json(self, schema: Any) -> str:
        inline = dict(schema) if isinstance(schema, Mapping) else {}
        if schema is False:
            inline = {"not": {}}
        if "$defs" in self.root and "$ref" in json.dumps(inline):
            inline.setdefault("$defs", self.root["$defs"])
        inline["x-guidance"] = self.options
        return "%json " + json.dumps(inline, ensure_ascii=False)

    def quote(self, level: Level, low: Any, high: Any) -> str:
        """A JSON string of a substring of the text, within the field's length bounds
        (counted in characters of the text: an escape is one)."""
        low = max(1, int(low or 1))
        bound = f"{{{low},{int(high)}}}" if high is not None else f"{{{low},}}"
        key = f"Q_{level.upper()}_{low}_{high if high is not None else 'N'}"
        if key not in self.terminals:
            pieces = json.dumps({"substring_chunks": chunks(self.text, level)}, ensure_ascii=False)
            self.terminals[key] = f"%regex {pieces} & {_TRIMMED} & /{_CHAR}{bound}/"
        return f'"\\"" {key} "\\""'

    def object(self, schema: Mapping[str, Any]) -> str:
        """Properties in schema order; optional ones may be left out (the chain of rules
        keeps the commas right: ``first`` before any property, ``rest`` after one)."""
        required = set(schema.get("required") or ())
        props = list(schema["properties"].items())
        first, rest = '""', '""'
        for key, sub in reversed(props):
            member = f"{_literal(json.dumps(key, ensure_ascii=False) + ':')} {self.expr(sub)}"
            then = self.rule(rest)
            if key in required:
                first = self.rule(f"{member} {then}")
                rest = self.rule(f'"," {member} {then}')
            else:
                first = self.rule(f"{member} {then} | {first}")
                rest = self.rule(f'"," {member} {then} | {rest}')
        return f'"{{" {first} "}}"'

    def array(self, schema: Mapping[str, Any]) -> str:
        item = self.rule(self.expr(schema["items"]))
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        more = (
            f"{{{max(low - 1, 0)},{int(high) - 1}}}"
            if high is not None
            else (f"{{{low - 1},}}" if low > 1 else "*")
        )
        if high is not None and int(high) == 0:
            return '"[" "]"'
        filled = f'"[" {item} ("," {item}){more} "]"'
        return filled if low >= 1 else f'("[" "]" | {filled})'


# Keywords that say nothing about a value's shape.
_ANNOTATIONS = {"title", "description", "default", "examples", "$comment"}


def _literal(text: str) -> str:
    """A Lark string literal for ``text``."""
    return json.dumps(text, ensure_ascii=False)


def grounded_values(schema: Mapping[str, Any], value: Any) -> list[tuple[str, str, Level]]:
    """Every grounded string in ``value`` (a JSON value of ``schema``), in the order of
    the answer: ``(JSON pointer, the string, level)``."""
    out: list[tuple[str, str, Level]] = []
    _collect(schema, schema, value, "", out, set(), 0)
    return out


def _collect(
    root: Mapping[str, Any], schema: Any, value: Any, path: str,
    out: list[tuple[str, str, Level]], seen: set[str], depth: int,
) -> None:  # fmt: skip
    if not isinstance(schema, Mapping) or depth > 64:
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        _collect(root, _resolve(root, ref), value, path, out, seen, depth + 1)
    level = schema.get(GROUNDED)
    if level in ("words", "chars") and isinstance(value, str):
        if path not in seen:  # several branches of a union may mark the same value
            seen.add(path)
            out.append((path, value, level))
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or ():
            _collect(root, branch, value, path, out, seen, depth + 1)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, item in value.items():
            sub = props.get(key, schema.get("additionalProperties"))
            _collect(root, sub, item, f"{path}/{_escape(key)}", out, seen, depth + 1)
    elif isinstance(value, list):
        items = schema.get("items")
        prefix = schema.get("prefixItems") or []
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else items
            _collect(root, sub, item, f"{path}/{i}", out, seen, depth + 1)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
