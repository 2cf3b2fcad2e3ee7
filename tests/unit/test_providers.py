"""Property tests of the provider dialects: strict rules hold, values survive the round trip.

Instances are drawn from each schema with hypothesis-jsonschema, read the way strict
mode reads the schema (open objects closed, typeless objects typed: see ``_narrowed``),
and checked with ``jsonschema`` against both the original and the provider form.
"""

from __future__ import annotations

import enum
import json
import warnings
from collections import defaultdict
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union
from unittest import mock

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis_jsonschema import from_schema
from jsonschema.validators import validator_for
from pydantic import BaseModel, Field, TypeAdapter

import extract.schemas as schemas
from extract.schemas import ProviderSchema
from extract.schemas._normalize import JsonSchema, json_copy, walk
from tests.conftest import SHARED_DATA

# OpenAI strict mode, as its documentation states it (kept apart from the module's own lists).
STRICT_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "anyOf", "$ref", "$defs", "definitions", "description", "title", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minItems", "maxItems",
}  # fmt: skip
STRICT_FORMATS = {
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
}


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Flat(BaseModel):
    name: str
    age: Optional[int] = None
    nickname: str = "none"
    score: float = 0.5
    active: bool = True


class Address(BaseModel):
    city: str
    zip_code: Optional[str] = Field(default=None, pattern=r"^\d{5}$")


class Person(BaseModel):
    name: str = Field(max_length=12, description="Full name")
    age: int = Field(ge=0, le=150)
    home: Address = Field(description="Where they live")
    work: Optional[Address] = None
    previous: list[Address] = []
    color: Color = Color.RED
    role: Literal["admin", "user"] = "user"
    born: Optional[date] = None


class WithMap(BaseModel):
    name: str
    counts: dict[str, int]


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    breed: Optional[str] = None


Pet = Annotated[Union[Cat, Dog], Field(discriminator="kind")]


class Owner(BaseModel):
    pet: Pet
    others: list[Pet] = []


class Item(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    quantity: int = Field(default=1, ge=1)
    note: Optional[str] = None


class Shapes(BaseModel):
    pair: tuple[int, str]
    tags: list[str] = Field(default_factory=list, max_length=3)


def _pydantic(target: Any) -> JsonSchema:
    schema: JsonSchema = TypeAdapter(target).json_schema()
    return schema


SCHEMAS: dict[str, JsonSchema] = {
    "flat with defaults": _pydantic(Flat),
    "nested, enums, Literal, X | None": _pydantic(Person),
    "dict field": _pydantic(WithMap),
    "recursive": _pydantic(Node),
    "tagged union (oneOf)": _pydantic(Owner),
    "list[Model] root": _pydantic(list[Item]),
    "str root": _pydantic(str),
    "optional model root": _pydantic(Optional[Item]),
    "tuple and bounded list": _pydantic(Shapes),
    "raw open object": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string", "minLength": 2}},
        "required": ["a"],
    },
    "raw typeless object": {"properties": {"a": {"enum": ["x", 1, None]}}},
    "raw root recursion": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "next": {"$ref": "#"}},
        "required": ["name"],
        "additionalProperties": False,
    },
    "raw definitions": {
        "definitions": {"point": {"type": "array", "items": {"type": "number"}, "maxItems": 3}},
        "type": "array",
        "items": {"$ref": "#/definitions/point"},
    },
}
NOT_STRICT = {"dict field"}

# Drawing objects with hypothesis-jsonschema is slow (tens of ms a value): the named-schema
# properties take a sixth of the profile's examples, so the "deep" profile still goes deeper.
MODEST = settings(max_examples=max(8, settings().max_examples // 6))


# -- helpers -------------------------------------------------------------------------------


def _validator(schema: Any) -> Any:
    return _validator_of(json.dumps(schema))


@cache
def _validator_of(text: str) -> Any:
    schema = json.loads(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown $schema: the latest draft is assumed
        cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def _errors(schema: Any, value: Any) -> list[jsonschema.ValidationError]:
    return list(_validator(schema).iter_errors(value))


def _as_strict_mode_reads(schema: JsonSchema) -> JsonSchema:
    """Where strict mode narrows ``schema``, the narrowed schema, else ``schema`` itself."""
    if not schemas.openai_strict_schema(schema).strict:
        return schema
    return _narrowed(schema)


def _narrowed(schema: JsonSchema) -> JsonSchema:
    """``schema`` as strict mode reads it: objects with properties closed and typed."""
    copy: JsonSchema = json_copy(schema)
    for _, node in walk(copy):
        if not isinstance(node.get("properties"), dict):
            continue
        if node.get("additionalProperties", True) in (True, {}):
            node["additionalProperties"] = False
        node.pop("patternProperties", None)
        if not any(k in node for k in ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")):
            node["type"] = "object"
    return copy


@cache
def _instances_of(text: str) -> st.SearchStrategy[Any]:
    """Values of a schema (given as JSON text, to cache by content).

    Recursion is unrolled two levels (``bounded_recursion`` reads the depth when called):
    deeper trees only slow hypothesis-jsonschema down.
    """
    with mock.patch.object(schemas._normalize, "RECURSION_DEPTH", 2):
        finite = schemas.bounded_recursion(json.loads(text))
    return from_schema(_draft7_tuples(finite))


def _draft7_tuples(schema: JsonSchema) -> JsonSchema:
    """``prefixItems`` as draft 7's ``items`` list: hypothesis-jsonschema reads draft 7."""
    for _, node in walk(schema):
        if isinstance(node.get("prefixItems"), list):
            rest = node.pop("items", True)
            node["items"] = node.pop("prefixItems")
            node["additionalItems"] = rest
    return schema


def _draw(data: st.DataObject, schema: JsonSchema) -> Any:
    try:
        return data.draw(_instances_of(json.dumps(schema)))
    except Exception:  # hypothesis-jsonschema cannot generate from it
        reject()


def _equal_but_for_added_nulls(restored: Any, value: Any) -> bool:
    """``restored == value``, except that ``restored`` may hold ``null`` for absent keys.

    Those are the nulls of optional properties whose schema admits null: an output
    cannot tell "absent" from "null" there, and both are valid.
    """
    if isinstance(restored, dict) and isinstance(value, dict):
        added = set(restored) - set(value)
        return (
            set(value) <= set(restored)
            and all(restored[k] is None for k in added)
            and all(_equal_but_for_added_nulls(restored[k], value[k]) for k in value)
        )
    if isinstance(restored, list) and isinstance(value, list):
        return len(restored) == len(value) and all(
            _equal_but_for_added_nulls(r, v) for r, v in zip(restored, value, strict=True)
        )
    return bool(restored == value) and type(restored) is type(value)


def _resolves(root: JsonSchema, ref: str) -> bool:
    if ref == "#":
        return True
    node: Any = root
    for token in ref.removeprefix("#/").split("/"):
        if not isinstance(node, dict) or token not in node:
            return False
        node = node[token]
    return isinstance(node, dict)


def _strict_mode_violations(parameters: JsonSchema) -> list[str]:
    """Every way ``parameters`` breaks the OpenAI strict-mode rules."""
    problems = []
    kind = parameters.get("type")
    if kind != "object" or not isinstance(parameters.get("properties"), dict):
        problems.append("the root is not an object with properties")
    if "anyOf" in parameters or "$ref" in parameters:
        problems.append("the root is a union or a reference")
    for path, node in walk(parameters):
        where = path or "/"
        unsupported = set(node) - STRICT_KEYWORDS
        if unsupported:
            problems.append(f"{where}: unsupported {sorted(unsupported)}")
        kind = node.get("type")
        kinds: list[Any] = kind if isinstance(kind, list) else [kind]
        if "properties" in node or "object" in kinds:
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: additionalProperties is not false")
            if node.get("required") != list(node.get("properties", {})):
                problems.append(f"{where}: required is not every property in order")
        if "array" in kinds and not isinstance(node.get("items"), dict):
            problems.append(f"{where}: array without items")
        if not any(k in node for k in ("type", "anyOf", "$ref", "enum", "const")):
            problems.append(f"{where}: accepts any value")
        if "$ref" in node and (set(node) != {"$ref"} or not _resolves(parameters, node["$ref"])):
            problems.append(f"{where}: $ref with siblings or not resolving")
        if "anyOf" in node and set(node) - {"anyOf", "title", "description"}:
            problems.append(f"{where}: anyOf beside other keywords")
        if "format" in node and node["format"] not in STRICT_FORMATS:
            problems.append(f"{where}: format {node['format']!r}")
        if path and ("$defs" in node or "definitions" in node):
            problems.append(f"{where}: definitions below the root")
    return problems


def _explained(error: jsonschema.ValidationError, keywords: set[str]) -> bool:
    """Whether ``error`` comes from a keyword the report says is validated after."""
    if error.validator in keywords:
        return True
    if error.validator in ("anyOf", "oneOf") and error.context:
        by_branch: dict[Any, list[jsonschema.ValidationError]] = defaultdict(list)
        for sub in error.context:
            by_branch[sub.schema_path[0]].append(sub)
        return any(all(_explained(s, keywords) for s in subs) for subs in by_branch.values())
    return False


def _check_round_trip(schema: JsonSchema, value: Any) -> None:
    """encode -> provider form -> restore gives ``value`` back (nulls of optionals aside)."""
    for provided in (schemas.openai_strict_schema(schema), schemas.tool_schema(schema)):
        encoded = provided.encode(value)
        if provided.strict:
            assert not _errors(provided.parameters, encoded), (encoded, provided.parameters)
        else:
            assert encoded == ({"value": value} if provided.wrapped else value)
        restored = provided.restore(encoded)
        assert not _errors(schema, restored), (value, encoded, restored)
        assert _equal_but_for_added_nulls(restored, value), (value, restored)
        if not provided.strict:
            assert restored == value


# -- properties over the named schemas --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_never_raises_and_leaves_the_input_alone(name: str) -> None:
    schema = SCHEMAS[name]
    before = json_copy(schema)
    strict = schemas.openai_strict_schema(schema)
    plain = schemas.tool_schema(schema)
    assert schema == before
    assert strict.strict is (name not in NOT_STRICT), strict.notes
    assert not plain.strict and not plain.enforced
    for provided in (strict, plain):
        assert provided.parameters.get("type") == "object"
        provided.parameters["mutated"] = True  # the results own their data
    assert schema == before


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_strict_parameters_follow_the_strict_rules(name: str) -> None:
    provided = schemas.openai_strict_schema(SCHEMAS[name])
    if provided.strict:
        assert _strict_mode_violations(provided.parameters) == []


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@MODEST
@given(data=st.data())
def test_valid_values_survive_the_round_trip(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    value = _draw(data, _as_strict_mode_reads(schema))
    assert not _errors(schema, value)
    _check_round_trip(schema, value)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@MODEST
@given(data=st.data())
def test_any_strict_output_restores_to_a_valid_value(name: str, data: st.DataObject) -> None:
    """Whatever strict mode lets the model write is valid once restored, but for the
    constraints the report lists as validated after decoding."""
    provided = schemas.openai_strict_schema(SCHEMAS[name])
    if not provided.strict:
        return
    output = _draw(data, provided.parameters)
    restored = provided.restore(output)
    after = {c.keyword for c in provided.validated_after}
    for error in _errors(SCHEMAS[name], restored):
        assert _explained(error, after), (output, restored, error.message)


# -- never raising, on anything -------------------------------------------------------------

_KEYWORDS = st.sampled_from(
    [
        "type", "properties", "required", "additionalProperties", "items", "prefixItems",
        "anyOf", "oneOf", "allOf", "not", "$ref", "$defs", "definitions", "enum", "const",
        "format", "pattern", "minLength", "default", "description", "title", "minimum",
        "minItems", "maxItems", "if", "patternProperties", "additionalItems",
    ]
)  # fmt: skip
_WORDS = st.sampled_from(
    ["object", "string", "integer", "null", "array", "#", "#/$defs/a", "#/properties/a", "a", "("]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | _WORDS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_KEYWORDS | _WORDS, inner, max_size=4)
    ),
    max_leaves=24,
)
_SCHEMA_LIKE = st.dictionaries(_KEYWORDS, _JSON, max_size=5)


@given(schema=_SCHEMA_LIKE, value=_JSON)
def test_never_raises_on_any_dict_or_value(schema: JsonSchema, value: Any) -> None:
    before = json_copy(schema)
    for provided in (schemas.openai_strict_schema(schema), schemas.tool_schema(schema)):
        if provided.strict:
            assert _strict_mode_violations(provided.parameters) == []
        provided.restore(value)
        provided.restore({"value": value})
        provided.encode(value)
        provided.report("openai").render()
    assert schema == before


def test_data_that_is_not_json_gets_an_answer() -> None:
    provided = schemas.openai_strict_schema({"type": "object", "enum": {1, 2}})
    assert not provided.strict
    assert provided.restore({"value": 3}) == 3


# -- examples --------------------------------------------------------------------------------


def test_a_list_root_is_wrapped_and_unwrapped() -> None:
    provided = schemas.openai_strict_schema(_pydantic(list[Item]))
    assert provided.strict and provided.wrapped
    params = provided.parameters
    assert params["required"] == ["value"] and params["additionalProperties"] is False
    assert params["properties"]["value"]["items"] == {"$ref": "#/$defs/Item"}
    assert "Item" in params["$defs"]  # hoisted: the reference still resolves
    items = [{"sku": "ABC-12"}]
    assert provided.encode(items) == {"value": [{"sku": "ABC-12", "quantity": None, "note": None}]}
    assert provided.restore({"value": [{"sku": "ABC-12", "quantity": None, "note": None}]}) == [
        {"sku": "ABC-12", "note": None}
    ]
    assert provided.restore("not wrapped") == "not wrapped"


def test_optional_properties_become_required_and_nullable() -> None:
    provided = schemas.openai_strict_schema(_pydantic(Flat))
    props = provided.parameters["properties"]
    assert provided.parameters["required"] == ["name", "age", "nickname", "score", "active"]
    assert props["name"] == {"type": "string", "title": "Name"}
    assert props["nickname"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["nickname"]["description"] == 'default: "none"'
    # Already nullable: left as it is.
    assert props["age"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    output = {"name": "A", "age": None, "nickname": None, "score": None, "active": False}
    assert provided.restore(output) == {"name": "A", "age": None, "active": False}


def test_one_of_becomes_any_of_and_exactly_one_is_checked_after() -> None:
    provided = schemas.openai_strict_schema(_pydantic(Owner))
    pet = provided.parameters["properties"]["pet"]
    assert pet["anyOf"] == [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    assert "oneOf" not in pet and "discriminator" not in pet
    assert ("/properties/pet", "oneOf") in {(c.path, c.keyword) for c in provided.validated_after}
    assert ("/properties/pet", "anyOf") in {(c.path, c.keyword) for c in provided.enforced}
    dog = {"pet": {"kind": "dog"}}
    assert provided.encode(dog) == {"pet": {"kind": "dog", "breed": None}, "others": None}
    assert provided.restore(provided.encode(dog)) == {"pet": {"kind": "dog", "breed": None}}


def test_unsupported_keywords_move_to_the_description_and_are_validated_after() -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "maxLength": 12, "description": "A code"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "site": {"type": "string", "format": "uri"},
        },
        "required": ["code", "tags", "site"],
        "additionalProperties": False,
    }
    provided = schemas.openai_strict_schema(schema)
    props = provided.parameters["properties"]
    assert props["code"] == {"type": "string", "description": "A code (maxLength: 12)"}
    assert props["tags"]["description"] == "uniqueItems: true"
    assert props["site"] == {"type": "string", "description": 'format: "uri"'}
    moved = {(c.path, c.keyword) for c in provided.validated_after}
    assert moved == {
        ("/properties/code", "maxLength"),
        ("/properties/tags", "uniqueItems"),
        ("/properties/site", "format"),
    }
    assert provided.notes == ()  # closed already: nothing to say


def test_a_dict_field_is_not_strict_and_says_why() -> None:
    provided = schemas.openai_strict_schema(_pydantic(WithMap))
    assert not provided.strict and provided.enforced == ()
    assert provided.parameters == _pydantic(WithMap)
    assert any("/properties/counts" in n and "open map" in n for n in provided.notes)
    assert provided.validated_after  # every constraint, after decoding


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"allOf": [{"type": "string"}, {"maxLength": 3}]}, "allOf"),
        ({"type": "string", "not": {"const": "x"}}, "not"),
        ({"type": "object", "properties": {"a": {"$ref": "other.json#/a"}}}, "not local"),
        ({"type": "object", "properties": {"a": {}}}, "any value"),
        ({"type": "object", "patternProperties": {"^x": {"type": "integer"}}}, "open map"),
        ({"if": {"type": "string"}, "then": {"minLength": 1}}, "if has no"),
    ],
)
def test_what_strict_mode_cannot_say_falls_back_to_a_tool_schema(
    schema: JsonSchema, reason: str
) -> None:
    provided = schemas.openai_strict_schema(schema)
    assert not provided.strict
    assert provided.parameters == schemas.tool_schema(schema).parameters
    assert reason in provided.notes[0] and "validated after decoding" in provided.notes[0]


def test_a_raw_open_object_is_closed_with_a_note() -> None:
    provided = schemas.openai_strict_schema(SCHEMAS["raw open object"])
    assert provided.strict and provided.parameters["additionalProperties"] is False
    assert any("closed" in n for n in provided.notes)


def test_recursion_keeps_its_references() -> None:
    provided = schemas.openai_strict_schema(_pydantic(Node))
    children = provided.parameters["$defs"]["Node"]["properties"]["children"]
    assert children["anyOf"][0] == {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    root = schemas.openai_strict_schema(SCHEMAS["raw root recursion"])
    assert root.parameters["properties"]["next"]["anyOf"][0] == {"$ref": "#/$defs/root"}
    value = {"name": "a", "next": {"name": "b"}}
    assert root.encode(value) == {"name": "a", "next": {"name": "b", "next": None}}
    assert root.restore(root.encode(value)) == value


def test_tool_schema_keeps_every_keyword_and_only_wraps() -> None:
    person = _pydantic(Person)
    assert schemas.tool_schema(person).parameters == person
    wrapped = schemas.tool_schema(SCHEMAS["raw definitions"])
    assert wrapped.wrapped and wrapped.parameters["definitions"]
    assert wrapped.parameters["properties"]["value"]["items"] == {"$ref": "#/definitions/point"}
    root_ref = schemas.tool_schema({"anyOf": [{"type": "integer"}, {"$ref": "#"}]})
    assert root_ref.parameters["properties"]["value"]["anyOf"][1] == {"$ref": "#/properties/value"}


def test_restore_drops_only_nulls_the_schema_does_not_allow() -> None:
    provided = schemas.openai_strict_schema(_pydantic(Person))
    output = provided.encode({"name": "A", "age": 3, "home": {"city": "X"}})
    assert output["work"] is None and output["home"]["zip_code"] is None
    restored = provided.restore(output)
    # born and zip_code admit null, so their nulls stay; the rest go.
    assert restored == {"name": "A", "age": 3, "home": {"city": "X", "zip_code": None},
                        "work": None, "born": None}  # fmt: skip
    assert TypeAdapter(Person).validate_python(restored).role == "user"


def test_report_says_what_the_provider_enforces() -> None:
    report = schemas.openai_strict_schema(_pydantic(Person)).report("openai")
    assert report.degraded  # max_length is checked after decoding
    assert any(c.keyword == "maxLength" for c in report.validated_after)
    assert any(c.keyword == "pattern" for c in report.enforced)
    assert report.notes[-1].startswith("openai strict mode enforces ")
    plain = schemas.tool_schema(_pydantic(Flat)).report("anthropic")
    assert plain.enforced == () and plain.degraded
    assert plain.notes[-1] == (
        "anthropic does not enforce the schema; everything is validated after decoding"
    )
    assert "openai strict mode" in report.render()


def test_a_str_root_is_wrapped() -> None:
    provided = schemas.openai_strict_schema({"type": "string", "minLength": 1})
    assert provided.strict and provided.wrapped
    assert provided.parameters["properties"]["value"] == {
        "type": "string",
        "description": "minLength: 1",
    }
    assert provided.encode("x") == {"value": "x"} and provided.restore({"value": "x"}) == "x"


# -- real-world schemas (JSONSchemaBench) ------------------------------------------------------

NEEDS_BENCH = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"no JSONSchemaBench data at {SHARED_DATA}"
)


def _bench_sample(every: int) -> list[Path]:
    return sorted(SHARED_DATA.glob("*.json"))[::every] if SHARED_DATA.is_dir() else []


@cache
def _bench_schema(path: Path) -> tuple[JsonSchema, list[Any]] | None:
    """The file's schema and its valid instances, or None when jsonschema cannot use it."""
    document = json.loads(path.read_text())
    schema = document.get("schema")
    if not isinstance(schema, dict):
        return None
    try:
        _validator(schema).check_schema(schema)
        valid = [t["data"] for t in document.get("tests", []) if t.get("valid")]
        valid = [v for v in valid if not _errors(schema, v)]
    except Exception:  # an invalid schema, an unresolvable $ref, a bad regex
        return None
    return schema, valid


@NEEDS_BENCH
def test_real_schemas_convert_and_their_examples_survive() -> None:
    checked = strict = 0
    for path in _bench_sample(40):
        loaded = _bench_schema(path)
        if loaded is None:
            continue
        schema, valid = loaded
        before = json_copy(schema)
        provided = schemas.openai_strict_schema(schema)
        schemas.tool_schema(schema)
        assert schema == before, path.name
        if provided.strict:
            strict += 1
            assert _strict_mode_violations(provided.parameters) == [], path.name
        narrowed = _as_strict_mode_reads(schema)
        for value in valid:
            if not _errors(narrowed, value):
                _check_round_trip(schema, value)
        checked += 1
    assert checked >= 150 and strict >= 40, (checked, strict)


@NEEDS_BENCH
def test_real_schemas_round_trip_drawn_values() -> None:
    checked = []  # file names with at least one value drawn and checked
    sample = [
        (path.name, loaded[0])
        for path in _bench_sample(80)
        if (loaded := _bench_schema(path)) and schemas.openai_strict_schema(loaded[0]).strict
    ]
    for name, schema in sample:
        try:
            _round_trip_drawn(schema, lambda name=name: checked.append(name))()
        except Unsatisfiable:
            continue  # hypothesis-jsonschema filters away all it draws
    assert len(sample) >= 60 and len(set(checked)) >= 0.9 * len(sample), len(set(checked))


def _round_trip_drawn(schema: JsonSchema, on_checked: Any) -> Any:
    """A round-trip test over ``schema``; values hypothesis-jsonschema cannot draw, or
    draws invalid (it reads some drafts its own way), are passed over, not retried."""
    narrowed = _as_strict_mode_reads(schema)

    @settings(
        max_examples=2,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),  # hypothesis-jsonschema filters a lot here
    )
    @given(data=st.data())
    def round_trip(data: st.DataObject) -> None:
        try:
            value = data.draw(_instances_of(json.dumps(narrowed)))
        except Exception:  # cannot generate from this schema
            return
        if not _errors(schema, value):
            _check_round_trip(schema, value)
            on_checked()

    return round_trip


def test_provider_schema_is_frozen() -> None:
    provided = schemas.openai_strict_schema({"type": "string"})
    assert isinstance(provided, ProviderSchema)
    with pytest.raises(AttributeError):
        provided.strict = False  # type: ignore[misc]
