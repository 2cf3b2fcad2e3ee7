"""Step 1 and 2 of the pipeline: a Python type or a JSON Schema -> normalized JSON Schema.

Normalizing rewrites only what the grammar engine would otherwise get wrong, and records
every keyword it had to drop so that the post-decoding validation covers it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from ._errors import SchemaError
from ._regex import translate_pattern
from ._report import Constraint

JsonSchema = dict[str, Any]

# Keywords that constrain values, in the order the report lists them.
VALIDATION_KEYWORDS = (
    "type", "enum", "const", "properties", "required", "additionalProperties",
    "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains",
    "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "anyOf", "oneOf", "allOf",
    "not", "minProperties", "maxProperties", "patternProperties", "propertyNames",
    "dependentRequired", "dependentSchemas", "if", "then", "else",
)


@dataclass
class Normalized:
    """A normalized schema plus the constraints normalizing moved out of it."""

    schema: JsonSchema
    source: str  # "pydantic" or "jsonschema"
    dropped: list[Constraint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def schema_of(target: Any) -> tuple[JsonSchema, str]:
    """The JSON Schema of a Pydantic-supported type, or a raw schema dict as given."""
    if isinstance(target, dict):
        if not all(isinstance(k, str) for k in target):
            raise SchemaError("a JSON Schema must be a dict with string keys")
        return copy.deepcopy(target), "jsonschema"
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(target)
        return adapter.json_schema(), "pydantic"
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        raise SchemaError(f"cannot build a JSON Schema for {target!r}: {exc}") from exc


def normalize(schema: JsonSchema, source: str) -> Normalized:
    """Close Pydantic objects, translate patterns, and record what had to go."""
    result = Normalized(schema=copy.deepcopy(schema), source=source)
    for path, node in walk(result.schema):
        _close_object(node, source)
        _translate_pattern(path, node, result)
        _drop_pydantic_only(node)
    return result


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
        elif key in ("items", "additionalProperties", "not", "if", "then", "else",
                     "contains", "propertyNames", "additionalItems", "unevaluatedProperties"):
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
    translated = translate_pattern(pattern)
    if translated.pattern is None:
        del node["pattern"]
        result.dropped.append(Constraint(path, "pattern", f"{pattern!r} {translated.problem}"))
    else:
        node["pattern"] = translated.pattern


def _drop_pydantic_only(node: JsonSchema) -> None:
    # OpenAPI's discriminator is an annotation here: the union already lists every
    # branch with its Literal tag, which the grammar enforces.
    node.pop("discriminator", None)


def is_model(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, BaseModel)
