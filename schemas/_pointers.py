"""JSON Pointers into a schema and whether a sub-schema admits ``null``: shared by the
strict converter and the value walker."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from ._normalize import JsonSchema

DEF_REF = re.compile(r"#/(\$defs|definitions)/([^/]+)")
MAX_DEPTH = 64  # how deep value walks follow a schema; deeper values are left as they are


def admits_null(schema: Any, root: Any = None, depth: int = 0) -> bool:
    """Whether ``null`` may be valid here; ``True`` when unsure.

    References are followed in ``root``; without one a reference counts as
    not admitting null (a converted schema then gets a redundant null branch).
    """
    if depth > MAX_DEPTH or schema is True:
        return True
    if not isinstance(schema, dict):
        return schema is not False
    verdicts = [_null_by_type(schema), _null_by_values(schema)]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = resolve_pointer(root, ref) if root is not None else False
        verdicts.append(target is None or admits_null(target, root, depth + 1))
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if isinstance(branches, list):
            verdicts.append(any(admits_null(b, root, depth + 1) for b in branches))
    branches = schema.get("allOf")
    if isinstance(branches, list):
        verdicts.append(all(admits_null(b, root, depth + 1) for b in branches))
    return all(verdicts)


def _null_by_type(schema: JsonSchema) -> bool:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind == "null"
    return "null" in kind if isinstance(kind, list) else True


def _null_by_values(schema: JsonSchema) -> bool:
    if "const" in schema and schema["const"] is not None:
        return False
    values = schema.get("enum")
    return not isinstance(values, list) or any(v is None for v in values)


def unescape(token: str) -> str:
    return unquote(token).replace("~1", "/").replace("~0", "~")


def pointer_path(ref: str) -> str:
    """``#/a/b`` -> ``/a/b``, the path form ``walk`` reports."""
    return "/".join(unescape(t) for t in ref[1:].split("/")) if ref != "#" else ""


def resolve_pointer(root: Any, ref: str) -> Any:
    """The node a local reference points at, or ``None``."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node = root
    for token in ref[2:].split("/"):
        name = unescape(token)
        if isinstance(node, dict) and name in node:
            node = node[name]
        elif isinstance(node, list) and name.isdigit() and int(name) < len(node):
            node = node[int(name)]
        else:
            return None
    return node
