"""Step 1 and 2 of the pipeline: a Python type or a JSON Schema -> normalized JSON Schema.

Normalizing rewrites only what the grammar engine would otherwise get wrong, and records
every keyword it had to drop so that the post-decoding validation covers it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from ._errors import SchemaError
from ._regex import Dialect, translate_pattern
from ._report import Constraint

JsonSchema = dict[str, Any]

# Keywords that constrain values, in the order the report lists them.
VALIDATION_KEYWORDS = (
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "minProperties",
    "maxProperties",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "then",
    "else",
)


@dataclass
class Normalized:
    """A normalized schema plus the constraints normalizing moved out of it."""

    schema: JsonSchema
    source: str  # "pydantic" or "jsonschema"
    dialect: Dialect = "python"  # whose regex semantics the validator uses
    dropped: list[Constraint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def schema_of(target: Any) -> tuple[JsonSchema, str]:
    """The JSON Schema of a Pydantic-supported type, or a raw schema dict as given."""
    if isinstance(target, dict):
        if not all(isinstance(k, str) for k in target):
            raise SchemaError("a JSON Schema must be a dict with string keys")
        try:
            return json_copy(target), "jsonschema"
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"a JSON Schema must hold JSON values only: {exc}") from exc
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(target)
        return adapter.json_schema(), "pydantic"
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        raise SchemaError(f"cannot build a JSON Schema for {target!r}: {exc}") from exc


def normalize(schema: JsonSchema, source: str, dialect: Dialect = "python") -> Normalized:
    """Close Pydantic objects, translate patterns, and record what had to go."""
    result = Normalized(schema=json_copy(schema), source=source, dialect=dialect)
    if source == "pydantic":
        _bound_recursion(result)
    ref_overrides = _ref_overrides_siblings(result.schema)
    for path, node in walk(result.schema):
        if ref_overrides:
            _drop_ref_siblings(node)
        _close_object(node, source)
        _translate_pattern(path, node, result)
        _lengths_beside_counted_pattern(path, node, result)
        _drop_pydantic_only(node)
        _property_names_as_pattern(path, node, result)
        _property_counts(path, node, result)
    return result


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data: several times faster than ``copy.deepcopy`` here."""
    return json.loads(json.dumps(value))


def constraints_in(schema: Any, keywords: Iterable[str]) -> list[Constraint]:
    """Every use of ``keywords`` in ``schema``, with its path (format and pattern values)."""
    wanted = tuple(keywords)
    found = []
    for path, node in walk(schema):
        for keyword in wanted:
            if keyword in node:
                detail = str(node[keyword]) if keyword in ("format", "pattern") else ""
                found.append(Constraint(path, keyword, detail))
    return found


def walk(schema: Any, path: str = "") -> Iterator[tuple[str, JsonSchema]]:
    """Every sub-schema with its path, depth first."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas"):
            if isinstance(value, dict):
                for name, sub in value.items():
                    yield from walk(sub, f"{path}/{key}/{name}")
        elif key in (
            "items",
            "additionalProperties",
            "not",
            "if",
            "then",
            "else",
            "contains",
            "propertyNames",
            "additionalItems",
            "unevaluatedProperties",
        ):
            if isinstance(value, dict):
                yield from walk(value, f"{path}/{key}")
            elif isinstance(value, list):
                for i, sub in enumerate(value):
                    yield from walk(sub, f"{path}/{key}/{i}")
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from walk(sub, f"{path}/{key}/{i}")


def _close_object(node: JsonSchema, source: str) -> None:
    # Pydantic models forbid nothing by default but also never produce extra keys;
    # an open grammar lets a small model wander into invented keys. extra="allow"
    # emits additionalProperties itself and is left alone. Raw JSON Schemas keep
    # their own (open) semantics.
    if source != "pydantic":
        return
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False


def _translate_pattern(path: str, node: JsonSchema, result: Normalized) -> None:
    pattern = node.get("pattern")
    if not isinstance(pattern, str):
        return
    translated = translate_pattern(pattern, result.dialect)
    if translated.pattern is None:
        del node["pattern"]
        result.dropped.append(Constraint(path, "pattern", f"{pattern!r} {translated.problem}"))
    else:
        node["pattern"] = translated.pattern


# Drafts up to 7 ignore every keyword beside "$ref"; 2019-09 and later apply them too.
_OLD_DRAFTS = re.compile(r"draft-0[3-7]/")
_KEPT_BESIDE_REF = frozenset({"$ref", "$defs", "definitions", "description", "title", "$id"})


def _ref_overrides_siblings(schema: JsonSchema) -> bool:
    declared = schema.get("$schema")
    return isinstance(declared, str) and bool(_OLD_DRAFTS.search(declared))


def _drop_ref_siblings(node: JsonSchema) -> None:
    """Under drafts 3 to 7 a ``$ref`` replaces its siblings (``{"type": "string", "$ref":
    ...}`` means the reference alone): the validator reads it so, and so must the grammar."""
    if isinstance(node.get("$ref"), str):
        for key in [k for k in node if k not in _KEPT_BESIDE_REF]:
            del node[key]


# A counted repetition this large beside a length bound: the engine intersects the two
# into an automaton that refuses valid strings (seen on real schemas: "^(?:\S+\s+){0,49}
# \S+$" with maxLength 500 refused a 19-word sentence; either constraint alone is fine).
_LARGE_COUNT = re.compile(r"\{\d*,?(\d{2,})\}")


def _lengths_beside_counted_pattern(path: str, node: JsonSchema, result: Normalized) -> None:
    pattern = node.get("pattern")
    if not isinstance(pattern, str) or not _LARGE_COUNT.search(pattern):
        return
    for keyword in ("minLength", "maxLength"):
        if keyword in node:
            del node[keyword]
            result.dropped.append(
                Constraint(path, keyword, "beside a pattern with a large counted repetition")
            )


def _drop_pydantic_only(node: JsonSchema) -> None:
    # OpenAPI's discriminator is an annotation here: the union already lists every
    # branch with its Literal tag, which the grammar enforces.
    node.pop("discriminator", None)


def _property_names_as_pattern(path: str, node: JsonSchema, result: Normalized) -> None:
    """``dict[Annotated[str, ...], X]``: key constraints as a patternProperties regex.

    llguidance has no ``propertyNames``, but it does constrain keys by
    ``patternProperties``; a length bound or a single pattern converts exactly.
    """
    names = node.get("propertyNames")
    if not isinstance(names, dict) or "properties" in node or "patternProperties" in node:
        return
    if (
        set(names) - {"minLength", "maxLength", "pattern", "type"}
        or names.get("type", "string") != "string"
    ):
        return
    if "pattern" in names and ({"minLength", "maxLength"} & set(names)):
        return  # two constraints on one key need an intersection: leave it to validation
    if "pattern" in names:
        translated = translate_pattern(str(names["pattern"]), result.dialect)
        if translated.pattern is None:
            return
        regex = translated.pattern
    else:
        low = int(names.get("minLength", 0))
        high = names.get("maxLength")
        regex = f"^(?s:.){{{low},{'' if high is None else int(high)}}}$"
    values = node.get("additionalProperties", True)
    node["patternProperties"] = {regex: values if isinstance(values, dict) else {}}
    node["additionalProperties"] = False
    del node["propertyNames"]
    result.notes.append(f"{path or '/'}: propertyNames enforced as patternProperties {regex!r}")


def _property_counts(path: str, node: JsonSchema, result: Normalized) -> None:
    """min/maxProperties beside optional properties: validated after decoding.

    The engine counts keys only when every listed property is required; otherwise
    its lenient mode builds a grammar that refuses valid objects (seen on real
    schemas: ``{"type": "object", "properties": {"a": .., "b": ..}, "minProperties": 1}``
    rejected ``{"a": 1, "b": true}``).
    """
    if "minProperties" not in node and "maxProperties" not in node:
        return
    props = node.get("properties")
    required = node.get("required")
    names = set(props) if isinstance(props, dict) else set()
    if names <= set(required if isinstance(required, list) else ()):
        return
    for keyword in ("minProperties", "maxProperties"):
        if keyword in node:
            del node[keyword]
            result.dropped.append(Constraint(path, keyword, "beside optional properties"))


# How deep a recursive model may nest in the grammar. Small models, greedy, fall into
# endless self-similar nesting ({"children":[{"children":[...); a bound ends it.
RECURSION_DEPTH = 4
_DEF_PREFIX = "#/$defs/"


def bounded_recursion(schema: JsonSchema) -> JsonSchema:
    """A copy of ``schema`` whose recursive ``$defs`` are unrolled RECURSION_DEPTH deep.

    Tools that expand references eagerly (test-data generators) need finite schemas.
    """
    copied = json_copy(schema)
    if isinstance(copied, dict):
        copied = _refs_to_defs(copied)
    result = Normalized(schema=copied, source="pydantic")
    _bound_recursion(result)
    return result.schema


def _refs_to_defs(schema: JsonSchema) -> JsonSchema:
    """Spell every local reference as ``#/$defs/NAME`` so that one unrolling covers all.

    ``#/definitions/NAME`` (drafts before 2019-09) moves to ``$defs``, and a
    reference to the root (``#``) goes through a ``$defs`` entry for the root.
    """
    defs = dict(schema.get("$defs") or {})
    old = schema.get("definitions")
    if isinstance(old, dict) and not set(old) & set(defs):
        defs.update(old)
        schema = _rewrite_refs(schema, "#/definitions/", _DEF_PREFIX)
        schema.pop("definitions", None)
    if "#" in _all_refs(schema):
        root = {k: v for k, v in schema.items() if k not in ("$defs", "$schema", "$id")}
        defs["__root"] = _rewrite_refs(root, "#", f"{_DEF_PREFIX}__root", exact=True)
        schema = {k: schema[k] for k in ("$schema",) if k in schema}
        schema["$ref"] = f"{_DEF_PREFIX}__root"
    if defs:
        defs = {k: _rewrite_refs(v, "#/definitions/", _DEF_PREFIX) for k, v in defs.items()}
        schema["$defs"] = defs
    return schema


def _all_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _all_refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_all_refs(v) for v in node)) if node else set()
    return set()


def _rewrite_refs(node: Any, old: str, new: str, *, exact: bool = False) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v, old, new, exact=exact) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and (ref == old if exact else ref.startswith(old)):
            out["$ref"] = new + ("" if exact else ref[len(old) :])
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, old, new, exact=exact) for v in node]
    return node


def _bound_recursion(result: Normalized) -> None:
    """Unroll self-referencing ``$defs`` into RECURSION_DEPTH levels.

    At the last level a reference becomes ``false``: an optional field or a list
    of children can then only be absent or empty. Validation still uses the model.
    """
    schema = result.schema
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return
    refs = {name: _refs_in(body) for name, body in defs.items()}
    recursive = {name for name in defs if name in _reachable(name, refs)}
    if not recursive:
        return
    unrolled = {name: body for name, body in defs.items() if name not in recursive}
    for level in range(1, RECURSION_DEPTH + 1):
        nxt = level + 1 if level < RECURSION_DEPTH else None
        for name in recursive:
            unrolled[f"{name}__{level}"] = _retarget(copy.deepcopy(defs[name]), recursive, nxt)
    for name in list(unrolled):
        if name not in recursive and "__" not in name:
            unrolled[name] = _retarget(unrolled[name], recursive, 1)
    schema["$defs"] = unrolled
    body = {k: v for k, v in schema.items() if k != "$defs"}
    schema.clear()
    schema.update(_retarget(body, recursive, 1))
    schema["$defs"] = unrolled
    result.notes.append(
        f"recursive {sorted(recursive)} nest at most {RECURSION_DEPTH} levels in the grammar"
    )


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEF_PREFIX):
            found.add(ref[len(_DEF_PREFIX) :])
        for value in node.values():
            found |= _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs_in(value)
    return found


def _reachable(start: str, refs: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(refs.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(refs.get(name, ()))
    return seen


def _retarget(node: Any, recursive: set[str], level: int | None) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if (
            isinstance(ref, str)
            and ref.startswith(_DEF_PREFIX)
            and ref[len(_DEF_PREFIX) :] in recursive
        ):
            if level is None:
                return False
            return {**node, "$ref": f"{ref}__{level}"}
        return {k: _retarget(v, recursive, level) for k, v in node.items()}
    if isinstance(node, list):
        return [_retarget(v, recursive, level) for v in node]
    return node
