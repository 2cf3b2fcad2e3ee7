"""The field-list prompt: every field, type and description of a schema, in a few lines."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract.core._fields import MAX_ENUM_VALUES, describe_fields
from extract.core._options import parse_options
from extract.core._prompt import build_messages
from tests.conftest import SHARED_DATA

names = st.from_regex(r"[a-z][a-z_]{0,9}", fullmatch=True)
words = st.text(alphabet="abcdefgh .,'", min_size=1, max_size=30).filter(str.strip)
scalars = st.sampled_from(
    [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}]
)
enums = st.lists(st.sampled_from(["red", "green", "blue", 1, 2, True]), min_size=1, max_size=4)


def objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    fields = st.dictionaries(names, children, min_size=1, max_size=4)
    return st.builds(
        lambda props, about, required: {
            "type": "object",
            "properties": props,
            "required": [k for k in props if required],
            **({"description": about} if about else {}),
        },
        fields,
        st.none() | words,
        st.booleans(),
    )


leaves = scalars | enums.map(lambda values: {"enum": list(dict.fromkeys(values))})
described = st.builds(lambda s, about: {**s, "description": about}, leaves, words)
schemas = st.recursive(
    leaves | described,
    lambda inner: (
        objects(inner)
        | st.builds(lambda s: {"type": "array", "items": s}, inner)
        | st.builds(lambda s: {"anyOf": [s, {"type": "null"}]}, inner)
    ),
    max_leaves=12,
)


def walk(schema: Any) -> Any:
    """Every (property name, its schema, required?) of every object in ``schema``."""
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield name, sub, name in schema.get("required", ())
        yield from walk(sub)
    for key in ("items",):
        yield from walk(schema.get(key))
    for sub in schema.get("anyOf", ()):
        yield from walk(sub)


@settings(max_examples=200, deadline=None)
@given(objects(schemas))
def test_every_field_is_listed_with_its_description_and_choices(schema: dict[str, Any]) -> None:
    text = describe_fields(schema)
    lines = text.splitlines()
    for name, sub, required in walk(schema):
        rows = [line for line in lines if line.startswith(f"- {name}: ")]
        assert rows, f"{name} missing from\n{text}"
        if not required:
            assert any(", optional" in row for row in rows)
        about = sub.get("description")
        if about:
            assert any(" ".join(about.split()).rstrip(".") in row for row in rows)
        for value in sub.get("enum", ())[:MAX_ENUM_VALUES]:
            assert any(json.dumps(value) in row for row in rows)


@settings(max_examples=100, deadline=None)
@given(objects(schemas))
def test_each_object_type_gets_one_block(schema: dict[str, Any]) -> None:
    text = describe_fields(schema)
    heads = [line for line in text.splitlines() if line.endswith("fields:")]
    assert len(heads) == len(set(heads))
    objects_in = 1 + sum(1 for _, sub, _ in walk(schema) if _holds_object(sub))
    assert len(heads) == objects_in


def _holds_object(schema: dict[str, Any]) -> bool:
    """Whether a field's own type (through lists and nulls) is an object."""
    if schema.get("properties"):
        return True
    inner = [schema["items"]] if "items" in schema else schema.get("anyOf", [])
    return any(_holds_object(s) for s in inner if isinstance(s, dict))


class Part(BaseModel):
    """One part of an order."""

    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$", description="Stock code")
    count: int = Field(ge=1)


class Order(BaseModel):
    """An order."""

    number: str
    placed: date
    parts: list[Part]
    note: str | None = None
    status: Literal["open", "shipped"] = "open"
    parent: Order | None = None  # recursive: listed once


def test_a_pydantic_model_reads_as_a_field_list() -> None:
    text = describe_fields(Order.model_json_schema())
    assert text.splitlines() == [
        "The answer is a JSON object (An order), fields:",
        "- number: string",
        "- placed: date (YYYY-MM-DD)",
        "- parts: list of Part",
        "- note: string or null, optional",
        '- status: one of "open", "shipped", optional',
        "- parent: Order or null, optional",
        "Part (One part of an order), fields:",
        r"- sku: string matching ^[A-Z]{3}-\d{4}$. Stock code",
        "- count: integer",
    ]


def test_a_list_target_names_its_items() -> None:
    schema = {"type": "array", "items": Part.model_json_schema()}
    assert describe_fields(schema).splitlines()[0] == "The answer is: list of Part."


def test_the_option_picks_the_system_prompt() -> None:
    schema = Part.model_json_schema()
    fields = build_messages(
        schema, "t", instructions=None, examples=(), target=Part, prompt="fields"
    )
    plain = build_messages(schema, "t", instructions=None, examples=(), target=Part)
    assert "- count: integer" in fields[0].content and "JSON Schema" not in fields[0].content
    assert json.dumps(schema, separators=(",", ":")) in plain[0].content
    with pytest.raises(extract.UsageError, match="prompt must be one of"):
        parse_options(Part, {"prompt": "yaml"})


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no JSONSchemaBench data at {SHARED_DATA}")
def test_real_world_schemas_list_their_top_level_fields() -> None:
    files = sorted(SHARED_DATA.glob("*.json"))[::8]
    shorter = 0
    for path in files:
        schema = json.loads(path.read_text())["schema"]
        text = describe_fields(schema)
        for name in schema.get("properties", {}) if isinstance(schema, dict) else ():
            assert re.search(rf"^- {re.escape(name)}: ", text, re.M), (path.name, name)
        shorter += len(text) < len(json.dumps(schema, separators=(",", ":")))
    assert shorter / len(files) > 0.8  # what the option is for
