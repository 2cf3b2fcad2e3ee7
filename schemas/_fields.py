"""A JSON Schema as a tree of fields, for code that handles a record field by field
(the review form, the distilled student).

Each node has a kind: an object (named fields), an array (one item node), a choice
(``enum``/``const``: ``Literal`` and ``Enum``), a boolean, an integer, a number, a date
(``format: date``), text (other strings), or ``json``: what none of these fits (unions
of several types, dicts, tuples, a model met again below itself), handled as a whole
JSON value. ``anyOf`` with ``null`` makes a node nullable. ``$ref``\\ s are resolved
against the schema's ``$defs`` (the schema as Pydantic writes it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("object", "array", "choice", "boolean", "integer", "number", "date", "text", "json")


@dataclass
class FieldNode:
    kind: str  # one of KINDS
    title: str = ""
    description: str = ""
    nullable: bool = False
    fields: dict[str, FieldNode] = field(default_factory=dict)  # object: key -> field
    required: frozenset[str] = frozenset()  # object: keys without a default
    item: FieldNode | None = None  # array: the items' node
    choices: tuple[Any, ...] = ()  # choice: the allowed JSON values
    default: Any = None
    has_default: bool = False


def field_tree(schema: Mapping[str, Any]) -> FieldNode:
    """The root node of ``schema`` (a schema with ``$defs``, as Pydantic writes it)."""
    return _node(schema, schema.get("$defs", {}), frozenset())


def _node(schema: Mapping[str, Any], defs: Mapping[str, Any], seen: frozenset[str]) -> FieldNode:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in defs:
            node = FieldNode("json")  # a model inside itself: its form would never end
        else:
            node = _node(defs[name], defs, seen | {name})
        return _described(node, schema)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list):
        others = [v for v in variants if v != {"type": "null"}]
        nullable = len(others) < len(variants)
        node = _node(others[0], defs, seen) if len(others) == 1 else FieldNode("json")
        node.nullable = nullable or node.nullable
        return _described(node, schema)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return _described(_node(all_of[0], defs, seen), schema)
    kind = schema.get("type")
    nullable = False
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        nullable = len(types) < len(kind)
        kind = types[0] if len(types) == 1 else None
    node = _typed(schema, kind, defs, seen)
    node.nullable = nullable
    return _described(node, schema)


def _typed(
    schema: Mapping[str, Any], kind: Any, defs: Mapping[str, Any], seen: frozenset[str]
) -> FieldNode:
    if "const" in schema:
        return FieldNode("choice", choices=(schema["const"],))
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return FieldNode("choice", choices=tuple(schema["enum"]))
    if kind == "object" and isinstance(schema.get("properties"), dict):
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return FieldNode("json")  # named fields plus a dict of others
        fields = {key: _node(sub, defs, seen) for key, sub in schema["properties"].items()}
        return FieldNode("object", fields=fields, required=frozenset(schema.get("required", ())))
    if kind == "array" and isinstance(schema.get("items"), dict) and "prefixItems" not in schema:
        return FieldNode("array", item=_node(schema["items"], defs, seen))
    if kind == "string":
        return FieldNode("date" if schema.get("format") == "date" else "text")
    if kind in ("integer", "number", "boolean"):
        return FieldNode(kind)
    return FieldNode("json")


def _described(node: FieldNode, schema: Mapping[str, Any]) -> FieldNode:
    if isinstance(schema.get("title"), str):
        node.title = schema["title"]
    if isinstance(schema.get("description"), str):
        node.description = schema["description"]
    if "default" in schema:
        node.default, node.has_default = schema["default"], True
    return node


def child_pointer(pointer: str, key: str | int) -> str:
    """``pointer`` extended by one key or index (RFC 6901 escaping)."""
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


_INDEX = re.compile(r"/(?:0|[1-9][0-9]*)(?=/|$)")
# RFC 6901: an index is ASCII digits without leading zeros ("¹".isdigit() is True).
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


def field_pattern(pointer: str) -> str:
    """A value's pointer as its field's pattern: list positions become ``*``
    (``/lines/2/name`` -> ``/lines/*/name``)."""
    return _INDEX.sub("/*", pointer)


def field_patterns(root: FieldNode, pattern: str = "") -> dict[str, FieldNode]:
    """Every field of the tree by its pattern (``""`` for the root); nothing below a
    ``json`` node, whose inside the tree does not know."""
    found = {pattern: root}
    if root.kind == "object":
        for key, child in root.fields.items():
            found.update(field_patterns(child, child_pointer(pattern, key)))
    elif root.kind == "array" and root.item is not None:
        found.update(field_patterns(root.item, f"{pattern}/*"))
    return found


def value_at(value: Any, pointer: str) -> tuple[bool, Any]:
    """``(True, the value at pointer)`` in a JSON value, or ``(False, None)`` where there
    is none (RFC 6901; a pointer into a list takes an index)."""
    if not pointer:
        return True, value
    for token in pointer[1:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and _ARRAY_INDEX.fullmatch(key) and int(key) < len(value):
            value = value[int(key)]
        else:
            return False, None
    return True, value


def error_pointer(root: FieldNode, loc: tuple[Any, ...]) -> str:
    """The pointer of the deepest field of the tree that a Pydantic error location
    names. Locations also hold union tags and validator names; they are passed over,
    so an error always lands on a field of the tree."""
    pointer, node = "", root
    for part in loc:
        if node.kind == "object" and isinstance(part, str) and part in node.fields:
            pointer, node = child_pointer(pointer, part), node.fields[part]
        elif node.kind == "array" and isinstance(part, int) and node.item is not None:
            pointer, node = child_pointer(pointer, part), node.item
        elif node.kind in ("object", "array"):
            break  # an unknown key or a union tag on a container: the error is the container's
    return pointer
