"""The review form's view of a target: its JSON Schema as a tree of fields.

Each node says which control edits it: an object is a group of fields, an array a list
of items with add and remove, an enum or ``Literal`` a choice, a boolean a yes/no
choice, integers and numbers a number box, ``date`` strings a date picker, other strings
a text box. What no control fits (unions of several types, dicts, tuples, a recursive
model met again below itself) is edited as JSON text, so every value can still be
reviewed. ``anyOf`` with ``null`` makes the field nullable: a "none" box beside it.

Pydantic's ``TypeAdapter`` gives the schema (field names by alias, the names the record
is validated under); ``$ref``\\ s are resolved against its ``$defs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

KINDS = ("object", "array", "choice", "boolean", "integer", "number", "date", "text", "json")


@dataclass
class Node:
    kind: str  # one of KINDS
    title: str = ""
    description: str = ""
    nullable: bool = False
    fields: dict[str, Node] = field(default_factory=dict)  # object: key -> field
    required: frozenset[str] = frozenset()  # object: keys without a default
    item: Node | None = None  # array: the items' node
    choices: tuple[Any, ...] = ()  # choice: the allowed JSON values
    default: Any = None
    has_default: bool = False


def target_schema(target: Any) -> dict[str, Any]:
    """The JSON Schema the form is generated from (field names by alias)."""
    schema: dict[str, Any] = TypeAdapter(target).json_schema(by_alias=True)
    return schema


def build(schema: Mapping[str, Any]) -> Node:
    """The root node of ``schema`` (a schema with ``$defs``, as Pydantic writes it)."""
    return _node(schema, schema.get("$defs", {}), frozenset())


def _node(schema: Mapping[str, Any], defs: Mapping[str, Any], seen: frozenset[str]) -> Node:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in defs:
            node = Node("json")  # a model inside itself: its form would never end
        else:
            node = _node(defs[name], defs, seen | {name})
        return _described(node, schema)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list):
        others = [v for v in variants if v != {"type": "null"}]
        nullable = len(others) < len(variants)
        node = _node(others[0], defs, seen) if len(others) == 1 else Node("json")
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
) -> Node:
    if "const" in schema:
        return Node("choice", choices=(schema["const"],))
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return Node("choice", choices=tuple(schema["enum"]))
    if kind == "object" and isinstance(schema.get("properties"), dict):
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return Node("json")  # named fields plus a dict of others
        fields = {key: _node(sub, defs, seen) for key, sub in schema["properties"].items()}
        return Node("object", fields=fields, required=frozenset(schema.get("required", ())))
    if kind == "array" and isinstance(schema.get("items"), dict) and "prefixItems" not in schema:
        return Node("array", item=_node(schema["items"], defs, seen))
    if kind == "string":
        return Node("date" if schema.get("format") == "date" else "text")
    if kind in ("integer", "number", "boolean"):
        return Node(kind)
    return Node("json")


def _described(node: Node, schema: Mapping[str, Any]) -> Node:
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


def error_pointer(root: Node, loc: tuple[Any, ...]) -> str:
    """The deepest field of the form that a Pydantic error location names.

    Locations also hold union tags and validator names; they are passed over, so an
    error always lands on a field that the form shows."""
    pointer, node = "", root
    for part in loc:
        if node.kind == "object" and isinstance(part, str) and part in node.fields:
            pointer, node = child_pointer(pointer, part), node.fields[part]
        elif node.kind == "array" and isinstance(part, int) and node.item is not None:
            pointer, node = child_pointer(pointer, part), node.item
        elif node.kind in ("object", "array"):
            break  # an unknown key or a union tag on a container: the error is the container's
    return pointer
