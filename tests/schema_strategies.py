"""Hypothesis strategies for JSON Schemas and Pydantic models that the tests compile."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional

import jsonschema
from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

NAMES = st.sampled_from(["a", "b", "name", "x_1", "Ünï", "with space"])
PATTERNS = [r"^[a-z]+$", r"^\d{3}-\d{2}$", r"^\w{1,5}$", r"[A-Z]", r"^(yes|no)$", r"\s?x"]


def _string() -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        hi = draw(st.integers(0, 8))
        schema: dict[str, Any] = {"type": "string", "maxLength": hi}
        if draw(st.booleans()):
            schema["minLength"] = draw(st.integers(0, hi))
        if draw(st.integers(0, 3)) == 0:
            schema = {"type": "string", "pattern": draw(st.sampled_from(PATTERNS)), "maxLength": 8}
        if draw(st.integers(0, 5)) == 0:
            schema = {"type": "string", "format": draw(st.sampled_from(["date", "uuid", "time"]))}
        return schema

    return build()


def _number(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": kind}
        lo = draw(st.none() | st.integers(-1000, 1000))
        if lo is not None:
            schema["minimum"] = lo
            if draw(st.booleans()):
                schema["maximum"] = lo + draw(st.integers(0, 1000))
        return schema

    return build()


LEAVES: st.SearchStrategy[dict[str, Any]] = st.one_of(
    _string(),
    _number("integer"),
    _number("number"),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(
        st.sampled_from(["red", "green", 1, None, True]), min_size=1, max_size=3, unique=True
    ).map(lambda values: {"enum": values}),
    st.sampled_from(["fixed", 7, False]).map(lambda value: {"const": value}),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def obj(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(st.dictionaries(NAMES, children, min_size=1, max_size=3))
        required = [k for k in props if draw(st.booleans())]
        return {
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }

    @st.composite
    def arr(draw: st.DrawFn) -> dict[str, Any]:
        hi = draw(st.integers(0, 3))
        return {
            "type": "array",
            "items": draw(children),
            "minItems": draw(st.integers(0, hi)),
            "maxItems": hi,
        }

    anyof = st.lists(children, min_size=2, max_size=3).map(lambda subs: {"anyOf": subs})
    return st.one_of(obj(), arr(), anyof)


JSON_SCHEMAS = st.recursive(LEAVES, _extend, max_leaves=6)


def compact(value: Any) -> str:
    """Compact JSON with numbers in plain decimal notation.

    llguidance spells bounded numbers without an exponent (1e16 is written
    10000000000000000) and may spell an integral bounded float only as an integer
    (0 for 0.0): the value is the same, and this is the spelling the grammar must accept.
    """
    if isinstance(value, str):
        # The engine wants DEL escaped; JSON allows both spellings.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return json.dumps(value)
    if isinstance(value, float):
        plain = format(Decimal(repr(value)), "f")
        return plain[:-2] if plain.endswith(".0") else plain
    if isinstance(value, list):
        return "[" + ",".join(compact(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{compact(k)}:{compact(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def in_schema_order(value: Any, schema: dict[str, Any]) -> Any:
    """Reorder object keys to the schema's property order (how the grammar emits them)."""
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            if jsonschema.Draft202012Validator(branch).is_valid(value):
                return in_schema_order(value, branch)
        return value
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        ordered = {k: in_schema_order(value[k], props[k]) for k in props if k in value}
        ordered.update({k: v for k, v in value.items() if k not in props})
        return ordered
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [in_schema_order(v, schema["items"]) for v in value]
    return value


# Pydantic field annotations, all bounded so that random grammar walks end.
FIELD_TYPES: list[Any] = [
    Annotated[str, Field(max_length=6)],
    Annotated[str, Field(min_length=1, max_length=4, pattern=r"^\w+$")],
    Annotated[int, Field(ge=0, le=99)],
    Annotated[float, Field(gt=-1, lt=1)],
    bool,
    Literal["a", "b"],
    Optional[Annotated[int, Field(ge=-5, le=5)]],
    Annotated[list[Annotated[int, Field(ge=0, le=9)]], Field(max_length=3)],
    Annotated[dict[Annotated[str, Field(max_length=3)], bool], Field(max_length=2)],
    tuple[bool, Annotated[int, Field(ge=0, le=3)]],
]


@st.composite
def pydantic_models(draw: st.DrawFn, depth: int = 0) -> type[BaseModel]:
    names = draw(
        st.lists(
            st.sampled_from(["alpha", "beta", "gamma", "delta"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    fields: dict[str, Any] = {}
    for name in names:
        if depth < 1 and draw(st.integers(0, 4)) == 0:
            annotation: Any = draw(pydantic_models(depth + 1))
        else:
            annotation = draw(st.sampled_from(FIELD_TYPES))
        if draw(st.booleans()):
            fields[name] = (annotation, ...)
        else:
            fields[name] = (Optional[annotation], None)
    model: type[BaseModel] = create_model(f"Generated{depth}_{'_'.join(names)}", **fields)
    return model
