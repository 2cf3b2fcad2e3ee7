"""extract.testing tests itself: strategies give what they promise, fakes behave."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union
from uuid import UUID

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, EmailStr, Field

import extract
import extract.schemas as schemas
from extract.backends import Completion, Message, Request
from extract.testing import (
    REPAIRABLE,
    FakeBackend,
    ScriptedBackend,
    ScriptExhaustedError,
    instances,
    json_outputs,
    json_values,
    llm_outputs,
)
from tests.grammar_tools import assigned_in_python
from tests.schema_strategies import JSON_SCHEMAS, pydantic_models

SLOW = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@SLOW
@given(data=st.data(), model=pydantic_models())
def test_every_instance_validates(data: st.DataObject, model: type[BaseModel]) -> None:
    value = data.draw(instances(model))
    assert isinstance(value, model)
    assert model.model_validate_json(value.model_dump_json(by_alias=True)) == value


@SLOW
@given(data=st.data(), schema=JSON_SCHEMAS)
def test_every_json_value_validates_against_a_raw_schema(
    data: st.DataObject, schema: dict[str, Any]
) -> None:
    value = data.draw(json_values(schema))
    compiled = schemas.compile_schema(schema)
    assert not isinstance(compiled.validate(json.dumps(value)), schemas.Invalid)


@SLOW
@given(data=st.data(), model=pydantic_models())
def test_every_json_output_parses_to_the_value_it_prints(
    data: st.DataObject, model: type[BaseModel]
) -> None:
    text = data.draw(json_outputs(model))
    assert extract.parse(model, text) == model.model_validate_json(text)


def _check_labelled(target: Any, output: Any, expected_value: Any) -> None:
    if output.expected == "repaired":
        assert set(output.damage) <= REPAIRABLE, output
        assert extract.parse(target, output.text) == expected_value, output
    else:
        with pytest.raises(extract.ParseError) as info:
            extract.parse(target, output.text)
        assert info.value.reason == output.expected, (output, info.value.errors)


@SLOW
@given(data=st.data(), model=pydantic_models())
def test_llm_outputs_are_repaired_to_an_equal_object_or_rejected_as_labelled(
    data: st.DataObject, model: type[BaseModel]
) -> None:
    output = data.draw(llm_outputs(model))
    _check_labelled(model, output, model.model_validate(output.value))


@SLOW
@given(data=st.data(), schema=JSON_SCHEMAS)
def test_llm_outputs_of_raw_schemas_too(data: st.DataObject, schema: dict[str, Any]) -> None:
    output = data.draw(llm_outputs(schema))
    _check_labelled(schema, output, output.value)


def test_llm_outputs_cover_every_kind_of_damage() -> None:
    class Order(BaseModel):
        id: int
        items: list[str]

    seen: set[str] = set()

    @settings(max_examples=300, database=None)
    @given(llm_outputs(Order))
    def collect(output: Any) -> None:
        seen.update(output.damage)

    collect()
    assert seen == {
        "fenced",
        "prose_before",
        "prose_after",
        "trailing_commas",
        "python_literals",
        "comments",
        "truncated",
        "wrong_type",
        "missing_required",
    }


@SLOW
@given(model=pydantic_models(), seed=st.integers(0, 2**32))
def test_fake_backend_output_follows_the_grammar(model: type[BaseModel], seed: int) -> None:
    compiled = schemas.compile_schema(model)
    request = Request((Message("user", "text"),), compiled, max_tokens=4096)
    completion = FakeBackend(seed).complete(request)
    assert completion.finish_reason == "stop"
    assert schemas.GrammarChecker(compiled.grammar).accepts(completion.text)
    assume(assigned_in_python(completion.text))
    outcome = compiled.validate(completion.text)
    # Only what the report says is validated after decoding may fail here.
    assert not isinstance(outcome, schemas.Invalid) or compiled.report.validated_after, outcome


@SLOW
@given(model=pydantic_models(), seed=st.integers(0, 2**16))
def test_fake_backend_through_the_extractor_always_gives_a_typed_object(
    model: type[BaseModel], seed: int
) -> None:
    result = extract.Extractor(FakeBackend(seed)).run(model, "any text", max_retries=5)
    assert isinstance(result.value, model)


def test_fake_backend_is_deterministic() -> None:
    class Person(BaseModel):
        name: str
        age: int

    one = extract.Extractor(FakeBackend(7)).run(Person, "Ada, 36").raw
    two = extract.Extractor(FakeBackend(7)).run(Person, "Ada, 36").raw
    other = extract.Extractor(FakeBackend(8)).run(Person, "Ada, 36").raw
    assert one == two
    assert one != other


class Point(BaseModel):
    x: int
    y: int


def test_scripted_backend_repairs_free_text_and_reasks_with_the_errors() -> None:
    backend = ScriptedBackend(['Sure: {"x": 1}', "```json\n{'x': 1, 'y': 2,}\n```"])
    result = extract.Extractor(backend).run(Point, "one, two")
    assert result.value == Point(x=1, y=2)
    assert len(result.attempts) == 2
    assert any("/y" in e for e in result.attempts[0].errors)
    reask = backend.requests[1].messages
    assert any("/y" in m.content for m in reask if m.role == "user")
    assert backend.remaining == 0


def test_scripted_backend_reports_truncation_and_running_out() -> None:
    cut = Completion('{"x": 1, "y"', "length", prompt_tokens=3, completion_tokens=5)
    backend = ScriptedBackend([cut, '{"x": 1, "y": '])
    with pytest.raises(extract.ExtractionError) as info:
        extract.Extractor(backend).run(Point, "text", max_retries=1)
    assert [a.truncated for a in info.value.attempts] == [True, True]
    assert backend.requests[1].max_tokens == 2 * backend.requests[0].max_tokens
    with pytest.raises(ScriptExhaustedError, match="only 2 output"):
        backend.complete(backend.requests[0])


def test_pytest_fixtures_are_registered(fake_extractor: Any, scripted_extractor: Any) -> None:
    assert isinstance(fake_extractor.extract(Point, "x"), Point)
    scripted = scripted_extractor(['{"x": 3, "y": 4}'])
    assert scripted.extract(Point, "x") == Point(x=3, y=4)


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: Annotated[int, Field(ge=0, le=9)]


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Owner(BaseModel):
    email: EmailStr
    born: date
    seen: datetime
    id: UUID
    pet: Annotated[Union[Cat, Dog], Field(discriminator="kind")]
    balance: Decimal
    tags: set[Annotated[str, Field(max_length=5)]]
    pair: tuple[int, str]
    code: Annotated[str, Field(pattern=r"^[A-Z]{2}-\d{3}$")]


class Node(BaseModel):
    name: str
    children: list[Node] = []


def _depth(node: Node) -> int:
    return 1 + max((_depth(c) for c in node.children), default=0)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(instances(Owner))
def test_instances_of_common_field_types(owner: Owner) -> None:
    assert Owner.model_validate_json(owner.model_dump_json()) == owner


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(instances(Node))
def test_instances_of_a_recursive_model_are_bounded(node: Node) -> None:
    assert _depth(node) <= schemas.RECURSION_DEPTH


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}}},
        {
            "definitions": {
                "n": {"type": "object", "properties": {"next": {"$ref": "#/definitions/n"}}}
            },
            "$ref": "#/definitions/n",
        },
    ],
)
def test_instances_of_recursive_raw_schemas(schema: dict[str, Any]) -> None:
    compiled = schemas.compile_schema(schema)

    @settings(max_examples=40, database=None)
    @given(json_values(schema))
    def check(value: Any) -> None:
        assert not isinstance(compiled.validate(json.dumps(value)), schemas.Invalid)

    check()
