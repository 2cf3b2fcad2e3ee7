"""Property tests of the compiler: the grammar allows exactly what the schema does."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import extract.schemas as schemas
from extract.testing import instances, json_values
from tests.grammar_tools import accepts, assigned_in_python, random_walk, representable
from tests.schema_strategies import JSON_SCHEMAS, compact, in_schema_order, pydantic_models

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
SLOW = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SLOW
@given(schema=JSON_SCHEMAS, seed=st.integers(0, 2**32))
def test_every_walk_of_a_json_schema_grammar_is_valid(
    tokenizer: Any, schema: dict[str, Any], seed: int
) -> None:
    compiled = schemas.compile_schema(schema)
    text = random_walk(tokenizer, compiled.grammar, seed)
    assume(text is not None)
    assert text is not None
    assume(assigned_in_python(text))
    errors = list(
        jsonschema.Draft202012Validator(schema, format_checker=FORMATS).iter_errors(
            json.loads(text)
        )
    )
    # Only what the report says is validated after decoding may fail here.
    assert not errors or compiled.report.validated_after, (text, errors)


@SLOW
@given(data=st.data(), schema=JSON_SCHEMAS)
def test_every_valid_instance_is_accepted(
    tokenizer: Any, data: st.DataObject, schema: dict[str, Any]
) -> None:
    compiled = schemas.compile_schema(schema)
    # Valid by our validator, which asserts "format" (as Pydantic does).
    instance = data.draw(json_values(schema))
    text = compact(in_schema_order(instance, schema))
    assume(representable(tokenizer, text))
    assert accepts(tokenizer, compiled.grammar, text), (text, compiled.report.render())


@SLOW
@given(model=pydantic_models(), seed=st.integers(0, 2**32))
def test_every_walk_of_a_model_grammar_validates(
    tokenizer: Any, model: type[BaseModel], seed: int
) -> None:
    compiled = schemas.compile_schema(model)
    text = random_walk(tokenizer, compiled.grammar, seed)
    assume(text is not None)
    assert text is not None
    assume(assigned_in_python(text))
    outcome = compiled.validate(text)
    if isinstance(outcome, schemas.Invalid):
        # Only what the report says is validated after decoding may fail here.
        assert compiled.report.validated_after, (text, outcome.errors)
    else:
        assert isinstance(outcome, model)


@SLOW
@given(data=st.data(), model=pydantic_models())
def test_every_model_instance_is_accepted(
    tokenizer: Any, data: st.DataObject, model: type[BaseModel]
) -> None:
    compiled = schemas.compile_schema(model)
    instance = data.draw(instances(model))
    text = compact(instance.model_dump(mode="json"))
    assume(representable(tokenizer, text))
    assert accepts(tokenizer, compiled.grammar, text), (text, compiled.report.render())


def test_objects_are_closed_for_models(tokenizer: Any) -> None:
    class Person(BaseModel):
        name: str

    compiled = schemas.compile_schema(Person)
    assert accepts(tokenizer, compiled.grammar, '{"name":"A"}')
    assert not accepts(tokenizer, compiled.grammar, '{"name":"A","skills_list":[]}')


def test_grammar_is_compact(tokenizer: Any) -> None:
    class Point(BaseModel):
        x: int
        y: int

    compiled = schemas.compile_schema(Point)
    assert accepts(tokenizer, compiled.grammar, '{"x":1,"y":2}')
    assert not accepts(tokenizer, compiled.grammar, '{"x": 1, "y": 2}')


def test_compiled_schemas_are_cached() -> None:
    class Thing(BaseModel):
        a: int

    assert schemas.compile_schema(Thing) is schemas.compile_schema(Thing)
    raw = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert schemas.compile_schema(raw) is schemas.compile_schema(dict(raw))
    assert schemas.compile_schema(list[Thing]) is schemas.compile_schema(list[Thing])


def test_a_raw_schema_changed_in_place_is_compiled_again() -> None:
    # Types are cached by identity; a dict's content may change under the same object.
    raw: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "integer"}}}
    before = schemas.compile_schema(raw)
    raw["properties"]["a"]["type"] = "string"
    after = schemas.compile_schema(raw)
    assert after is not before
    assert after.validate('{"a": "x"}') == {"a": "x"}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "(?<=a)b"},
        {"type": "string", "pattern": r"(a)\1"},
        {"type": "string", "pattern": "a{"},
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        {"type": "string", "format": "no-such-format"},
        {"not": {"type": "string"}},
    ],
)
def test_inexpressible_schemas_degrade_and_say_so(schema: dict[str, Any]) -> None:
    compiled = schemas.compile_schema(schema)
    assert compiled.report.degraded
    assert compiled.report.validated_after or compiled.report.notes


def test_property_order_is_part_of_the_cache_key() -> None:
    def obj(*names: str) -> dict[str, Any]:
        props = {n: {"type": "integer"} for n in names}
        return {"type": "object", "properties": props, "required": list(names)}

    ab, ba = schemas.compile_schema(obj("a", "b")), schemas.compile_schema(obj("b", "a"))
    assert ab is not ba
    assert schemas.GrammarChecker(ab.grammar).accepts('{"a":1,"b":2}')
    assert schemas.GrammarChecker(ba.grammar).accepts('{"b":1,"a":2}')


def test_property_counts_beside_optional_properties_are_checked_after_decoding() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}},
        "minProperties": 1,
    }
    compiled = schemas.compile_schema(schema)
    assert schemas.GrammarChecker(compiled.grammar).accepts('{"a":1,"b":true}')
    assert any(c.keyword == "minProperties" for c in compiled.report.validated_after)
    assert isinstance(compiled.validate("{}"), schemas.Invalid)


@pytest.mark.parametrize(
    ("draft", "value", "valid"),
    [
        ("http://json-schema.org/draft-04/schema#", "12:00:00Z", True),
        ("http://json-schema.org/draft-04/schema#", "12:00:00", False),  # no offset
        ("https://json-schema.org/draft/2020-12/schema", "12:00:00+02:00", True),
        ("http://json-schema.org/draft-03/schema#", "12:00:00", True),  # draft 3's own "time"
    ],
)
def test_formats_follow_the_schemas_draft(draft: str, value: str, valid: bool) -> None:
    compiled = schemas.compile_schema({"$schema": draft, "type": "string", "format": "time"})
    outcome = compiled.validate(json.dumps(value))
    assert (not isinstance(outcome, schemas.Invalid)) == valid


# -- real-world schema classes the grammar once refused (JSONSchemaBench) ----------------


@pytest.mark.parametrize("draft", ["draft-04", "draft-06", "draft-07"])
def test_a_ref_replaces_its_siblings_under_drafts_up_to_7(draft: str) -> None:
    schema = {
        "$schema": f"http://json-schema.org/{draft}/schema#",
        "type": "object",
        "properties": {"sensor": {"type": "string", "$ref": "#/definitions/point"}},
        "definitions": {"point": {"type": "object", "properties": {"x": {"type": "number"}}}},
    }
    compiled = schemas.compile_schema(schema)
    checker = schemas.GrammarChecker(compiled.grammar)
    assert checker.accepts('{"sensor":{"x":1}}')  # what the draft's validator accepts
    assert not checker.accepts('{"sensor":"text"}')
    assert not isinstance(compiled.validate('{"sensor":{"x":1}}'), schemas.Invalid)


def test_a_ref_and_its_siblings_both_apply_from_draft_2019_09() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"n": {"type": "integer", "$ref": "#/$defs/small"}},
        "$defs": {"small": {"maximum": 5}},
    }
    compiled = schemas.compile_schema(schema)
    assert isinstance(compiled.validate('{"n":"text"}'), schemas.Invalid)
    assert not schemas.GrammarChecker(compiled.grammar).accepts('{"n":"text"}')


def test_a_length_bound_beside_a_large_counted_pattern_is_validated_after() -> None:
    words = {"type": "string", "minLength": 1, "maxLength": 500,
             "pattern": r"^(?:\S+\s+){0,49}\S+$"}  # fmt: skip
    sentence = json.dumps(" ".join(["word"] * 19))
    compiled = schemas.compile_schema(words)
    assert schemas.GrammarChecker(compiled.grammar).accepts(sentence)
    assert {(c.keyword, c.path) for c in compiled.report.validated_after} >= {
        ("maxLength", ""), ("minLength", ""),
    }  # fmt: skip
    assert isinstance(compiled.validate(json.dumps("w" * 501)), schemas.Invalid)
    assert not isinstance(compiled.validate(sentence), schemas.Invalid)
    # A small count keeps both constraints in the grammar.
    short = schemas.compile_schema({**words, "pattern": r"^(?:\S+\s+){0,4}\S+$"})
    assert not any(c.keyword == "maxLength" for c in short.report.validated_after)
