"""Arrow types for a target, worked out once from its JSON Schema, never from the data.

A Pydantic target is read through its serialization-mode JSON Schema by field name (what
``model_dump(mode="json")`` writes), with the Python types JSON spells as strings marked
by ``_Hinted`` (dates, datetimes, times, durations, decimals). Each node becomes a
``Shape``: its Arrow type, whether it may be null, and how a JSON value of it becomes
what pyarrow takes for that type. Where Arrow has no type for a node (a union of unlike
types, a free-form or open object, a recursive model), the shape is a string holding the
value's JSON text, marked on the field as ``{"encoding": "json"}``.

Choices, each for a reason:

- nested models are structs, ``list[X]`` lists, ``dict[str, X]`` maps, enums and
  Literals strings (ints or bools when every choice is one);
- ``datetime`` is a naive ``timestamp[us]``: an aware value is stored as its UTC time
  (text extracted by a model is mostly without an offset). ``AwareDatetime`` is
  ``timestamp[us, UTC]``. ``time`` is ``time64[us]`` (an offset likewise to UTC),
  ``timedelta`` ``duration[us]``;
- ``Decimal`` with ``max_digits`` and ``decimal_places`` is ``decimal128(max_digits,
  decimal_places)`` (``decimal256`` past 38 digits): exact, as SQL's NUMERIC. Without
  both, no scale fits every value, so it is ``float64``, the nearest double;
- an object from a raw JSON Schema is a struct when it is closed (``additionalProperties:
  false``); an open one may hold keys nobody declared, so it is JSON text.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pyarrow as pa
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

HINT = "x-arrow"  # set by _Hinted on the nodes whose Python type JSON does not show
JSON_FIELD = {"encoding": "json"}  # the field metadata of a column of JSON text
_DECIMAL_DIGITS = 76  # decimal256's largest precision

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Shape:
    """One node's column: its Arrow type, nullability and converter (JSON -> pyarrow)."""

    type: pa.DataType
    nullable: bool = False
    convert: Convert = _same
    json: bool = False  # the value's JSON text, in a string column
    # A struct's fields, in order (for a top-level record they become columns).
    fields: tuple[tuple[str, Shape], ...] = ()

    def field(self, name: str) -> pa.Field:
        return pa.field(name, self.type, self.nullable, JSON_FIELD if self.json else None)

    def value(self, given: Any) -> Any:
        return None if given is None else self.convert(given)


class _Hinted(GenerateJsonSchema):
    """Pydantic's JSON Schema, with ``x-arrow`` on the types JSON writes as strings."""

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        return {**super().date_schema(schema), HINT: "date"}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        aware = schema.get("tz_constraint") not in (None, "naive")  # "aware" or an offset
        return {**super().datetime_schema(schema), HINT: "utc" if aware else "timestamp"}

    def time_schema(self, schema: core_schema.TimeSchema) -> JsonSchemaValue:
        return {**super().time_schema(schema), HINT: "time"}

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return {**super().timedelta_schema(schema), HINT: "duration"}

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        digits, places = schema.get("max_digits"), schema.get("decimal_places")
        hint: Any = "float"
        if digits is not None and places is not None:
            precision = max(digits, places, 1)
            if precision <= _DECIMAL_DIGITS:
                hint = {"decimal": [precision, places]}
        return {**super().decimal_schema(schema), HINT: hint}


def json_schema_of(target: Any) -> tuple[dict[str, Any], bool]:
    """The schema to read the columns from, and whether its objects are closed unless
    they say otherwise (Pydantic models are; raw JSON Schemas are open)."""
    if isinstance(target, dict):
        return target, False
    adapter: TypeAdapter[Any] = TypeAdapter(target)
    return adapter.json_schema(by_alias=False, mode="serialization", schema_generator=_Hinted), True


def shape_of(schema: dict[str, Any], closed: bool) -> Shape:
    """The ``Shape`` of a whole target's schema."""
    return _Shapes(schema, closed).of(schema, frozenset())


class _Shapes:
    def __init__(self, root: dict[str, Any], closed: bool) -> None:
        self.root = root
        self.closed = closed

    def of(self, node: Any, active: frozenset[str]) -> Shape:
        if not isinstance(node, dict):
            return _JSON  # true, or anything else the schema allows
        ref = node.get("$ref")
        if isinstance(ref, str):
            resolved = self._resolve(ref)
            if resolved is None or ref in active:  # recursion has no fixed Arrow type
                return _JSON
            return self.of(resolved, active | {ref})
        if self.closed and HINT in node:  # only _Hinted sets it
            return _hinted(node[HINT])
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                return self._union([self.of(b, active) for b in node[key]])
        all_of = node.get("allOf")
        if isinstance(all_of, list):
            return self.of(all_of[0], active) if len(all_of) == 1 else _JSON
        if "const" in node:
            return _choices([node["const"]])
        if isinstance(node.get("enum"), list):
            return _choices(node["enum"])
        kind = node.get("type")
        if isinstance(kind, list):
            return self._union([self.of({**node, "type": k}, active) for k in kind])
        if kind == "object":
            return self._object(node, active)
        if kind == "array":
            return self._array(node, active)
        return _SCALARS.get(kind, _JSON) if isinstance(kind, str) else _JSON

    def _resolve(self, ref: str) -> Any:
        """A local ``#/...`` reference; None for any other."""
        if not ref.startswith("#/"):
            return None
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def _union(self, shapes: Sequence[Shape]) -> Shape:
        """``X | None`` is X, nullable; one type in every branch is that type; ints and
        floats are float64; anything else is JSON text."""
        kept = [s for s in shapes if not pa.types.is_null(s.type)]
        nullable = len(kept) < len(shapes) or any(s.nullable for s in kept)
        if not kept:
            return _NULL
        first = kept[0]
        if all(s.type == first.type and s.json == first.json for s in kept):
            return replace(first, nullable=nullable)
        if all(s.type in (pa.int64(), pa.float64()) for s in kept):
            return Shape(pa.float64(), nullable, float)
        return replace(_JSON, nullable=nullable)

    def _object(self, node: dict[str, Any], active: frozenset[str]) -> Shape:
        properties = node.get("properties")
        extra = node.get("additionalProperties")
        if isinstance(properties, dict) and properties:
            if extra is True or isinstance(extra, dict) or (extra is None and not self.closed):
                return _JSON  # keys no one declared would have no column
            required = set(node.get("required", ()))
            fields = []
            for name, sub in properties.items():
                child = self.of(sub, active)
                nullable = child.nullable or name not in required
                fields.append((name, replace(child, nullable=nullable)))
            return _struct(tuple(fields))
        if isinstance(extra, dict) and extra and not properties:
            return _map(self.of(extra, active))
        return _JSON  # free-form, or no fields (Parquet cannot write an empty struct)

    def _array(self, node: dict[str, Any], active: frozenset[str]) -> Shape:
        items = node.get("items")
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and prefix:  # a tuple: a list if its items agree
            parts = [self.of(p, active) for p in prefix]
            if isinstance(items, dict):
                parts.append(self.of(items, active))
            one = self._union(parts)
            return _list(one) if not one.json or all(p.json for p in parts) else _JSON
        if isinstance(items, dict):
            return _list(self.of(items, active))
        return _JSON


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_JSON = Shape(pa.string(), False, _json_text, json=True)
_NULL = Shape(pa.null(), True)
_SCALARS = {
    "string": Shape(pa.string()),
    "integer": Shape(pa.int64()),
    "number": Shape(pa.float64(), convert=float),
    "boolean": Shape(pa.bool_()),
    "null": _NULL,
}


def _choices(values: Sequence[Any]) -> Shape:
    """An enum or Literal: the one JSON type of its choices, else JSON text."""
    given = [v for v in values if v is not None]
    nullable = len(given) < len(values)
    if not given:
        return _NULL
    if all(isinstance(v, str) for v in given):
        return Shape(pa.string(), nullable)
    if all(isinstance(v, bool) for v in given):
        return Shape(pa.bool_(), nullable)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in given):
        return Shape(pa.int64(), nullable)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in given):
        return Shape(pa.float64(), nullable, float)
    return replace(_JSON, nullable=nullable)


def _struct(fields: tuple[tuple[str, Shape], ...]) -> Shape:
    def convert(value: Any) -> Any:
        return {name: shape.value(value.get(name)) for name, shape in fields}

    arrow = pa.struct([shape.field(name) for name, shape in fields])
    return Shape(arrow, False, convert, fields=fields)


def _list(item: Shape) -> Shape:
    def convert(value: Any) -> Any:
        return [item.value(v) for v in value]

    return Shape(pa.list_(item.field("item")), False, convert)


def _map(item: Shape) -> Shape:
    def convert(value: Any) -> Any:
        return [(key, item.value(v)) for key, v in value.items()]

    return Shape(pa.map_(pa.string(), item.field("value")), False, convert)


# Values as Pydantic's JSON mode writes them, read back by Pydantic itself (ISO 8601
# with "Z" or an offset, durations as "P1DT2H", or numbers where so configured).
@functools.cache
def _reader(kind: type) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _datetime(value: Any) -> dt.datetime:
    """As given: pyarrow stores an aware value as its UTC instant in either column
    (in Arrow's range, wider than Python's near the years 1 and 9999)."""
    parsed: dt.datetime = _reader(dt.datetime).validate_python(value)
    return parsed


def _time(value: Any) -> dt.time:
    """An offset is applied here: pyarrow would drop it from a ``time64``."""
    parsed: dt.time = _reader(dt.time).validate_python(value)
    if parsed.tzinfo is None:
        return parsed
    moment = dt.datetime.combine(dt.date(2000, 1, 3), parsed)  # any day far from the ends
    return moment.astimezone(dt.timezone.utc).time()


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _hinted(hint: Any) -> Shape:
    if hint == "date":
        return Shape(pa.date32(), False, _reader(dt.date).validate_python)
    if hint == "timestamp":
        return Shape(pa.timestamp("us"), False, _datetime)
    if hint == "utc":
        return Shape(pa.timestamp("us", tz="UTC"), False, _datetime)
    if hint == "time":
        return Shape(pa.time64("us"), False, _time)
    if hint == "duration":
        return Shape(pa.duration("us"), False, _reader(dt.timedelta).validate_python)
    if isinstance(hint, dict) and "decimal" in hint:
        precision, scale = hint["decimal"]
        kind = pa.decimal128 if precision <= 38 else pa.decimal256
        return Shape(kind(precision, scale), False, _decimal)
    if hint == "float":  # a Decimal without a declared scale
        return Shape(pa.float64(), False, float)
    return _JSON
