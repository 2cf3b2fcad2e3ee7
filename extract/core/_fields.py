"""A JSON Schema as a short field list: names, types and descriptions, for the prompt.

Where a grammar or a tool schema enforces the structure, the model needs to know what
each field means, not the schema's syntax; the list costs a fraction of the prompt
tokens of the schema itself (figures in docs/benchmarks/speed.md). Written
by hand: the libraries that render schemas (json-schema-for-humans and the like) make
documentation pages, not a dozen lines for a small model's prompt.
"""

from __future__ import annotations

import json
from typing import Any

MAX_ENUM_VALUES = 24  # the rest is enforced by the grammar; the prompt says "..."
MAX_PATTERN_CHARS = 40  # a longer pattern costs more tokens than it tells a model


def describe_fields(schema: dict[str, Any]) -> str:
    """The lines that tell a model what to write for ``schema``.

    A root object is listed field by field; every object type it uses (``$defs`` or
    inline) gets its own block, once, in order of first use; anything else is one line.
    """
    return _Writer(schema).text()


class _Writer:
    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._defs: dict[str, Any] = {**root.get("definitions", {}), **root.get("$defs", {})}
        self._names: dict[int, str] = {}  # id(object schema) -> its block name
        self._queue: list[tuple[str, dict[str, Any]]] = []

    def text(self) -> str:
        root = self._root
        ref = root.get("$ref")
        if isinstance(ref, str) and not _is_record(root) and ref.rsplit("/", 1)[-1] in self._defs:
            root = self._defs[ref.rsplit("/", 1)[-1]]  # a recursive model's root
        if _is_record(root):
            self._names[id(root)] = _title(root, "answer")
            lines = [self._block("The answer is a JSON object", root)]
        else:
            lines = [f"The answer is: {self._type(root)}."]
        done = 0
        while done < len(self._queue):  # blocks queued while writing others
            name, schema = self._queue[done]
            lines.append(self._block(name, schema))
            done += 1
        return "\n".join(lines)

    def _block(self, name: str, schema: dict[str, Any]) -> str:
        about = schema.get("description")
        head = f"{name} ({_sentence(about)})" if about else name
        required = set(schema.get("required", ()))
        rows = [f"{head}, fields:"]
        for field, sub in schema.get("properties", {}).items():
            line = f"- {field}: {self._type(sub)}"
            if field not in required:
                line += ", optional"
            described = sub.get("description") if isinstance(sub, dict) else None
            if described:
                line += f". {_sentence(described)}"
            rows.append(line)
        return "\n".join(rows)

    def _type(self, schema: Any, hint: str = "item") -> str:
        if schema is True or schema == {}:
            return "any JSON value"
        if not isinstance(schema, dict):
            return "nothing"  # `false`: the grammar allows no value here
        if "$ref" in schema:
            return self._ref(schema["$ref"], hint)
        if "const" in schema:
            return json.dumps(schema["const"], ensure_ascii=False)
        if "enum" in schema:
            return _one_of(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return " or ".join(dict.fromkeys(self._type(s, hint) for s in schema[key]))
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self._type(schema["allOf"][0], hint)
        if _is_record(schema):
            return self._named(schema, _title(schema, hint))
        kinds = schema.get("type")
        if isinstance(kinds, list):
            return " or ".join(self._type({**schema, "type": k}, hint) for k in kinds)
        if kinds == "array":
            return self._array(schema, hint)
        if kinds == "object":
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                return f"object mapping strings to {self._type(values, hint)}"
            return "JSON object"
        if kinds == "string":
            return _string(schema)
        if kinds in ("integer", "number", "boolean", "null"):
            return str(kinds)
        return "any JSON value"

    def _ref(self, ref: str, hint: str) -> str:
        name = ref.rsplit("/", 1)[-1]
        target = self._root if ref == "#" else self._defs.get(name)
        if target is None:
            return name  # a reference the grammar resolved elsewhere
        if _is_record(target):
            return self._named(target, name)
        if id(target) in self._names:  # a recursive non-object definition
            return name
        self._names[id(target)] = name
        return self._type(target, hint)

    def _named(self, schema: dict[str, Any], name: str) -> str:
        known = self._names.get(id(schema))
        if known is not None:
            return known
        taken = set(self._names.values())
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}{n}", n + 1
        self._names[id(schema)] = unique
        self._queue.append((unique, schema))
        return unique

    def _array(self, schema: dict[str, Any], hint: str) -> str:
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            return "list of [" + ", ".join(self._type(s, hint) for s in prefix) + "]"
        items = schema.get("items", {})
        if isinstance(items, list):  # draft 4-7 tuples
            return "list of [" + ", ".join(self._type(s, hint) for s in items) + "]"
        kind = "list of distinct" if schema.get("uniqueItems") else "list of"
        return f"{kind} {self._type(items, hint)}"


def _is_record(schema: Any) -> bool:
    return isinstance(schema, dict) and bool(schema.get("properties"))


def _title(schema: dict[str, Any], fallback: str) -> str:
    title = schema.get("title")
    return str(title) if isinstance(title, str) and title else fallback


def _one_of(values: list[Any]) -> str:
    shown = [json.dumps(v, ensure_ascii=False) for v in values[:MAX_ENUM_VALUES]]
    more = ", ..." if len(values) > MAX_ENUM_VALUES else ""
    return "one of " + ", ".join(shown) + more


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return "date (YYYY-MM-DD)"
    if isinstance(fmt, str):
        return f"string ({fmt})"
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and len(pattern) <= MAX_PATTERN_CHARS:
        return f"string matching {pattern}"
    return "string"


def _sentence(text: Any) -> str:
    """A description on one line, without its final full stop (the list adds its own)."""
    return " ".join(str(text).split()).rstrip(".")
