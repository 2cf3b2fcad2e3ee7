"""The review form round-trips every record: render it, submit it unchanged (as a
browser would, tests/form_submit.py), read it back, validate: the same value."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from extract.apps.review._form import FormContext, render_form, target_schema
from extract.apps.review._submit import read_form
from extract.schemas import error_pointer, field_tree
from extract.testing import instances
from tests.form_submit import submitted


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    S = 1
    L = 3


# HTML cannot carry a NUL, nor a carriage return in a text box (browsers turn every line
# break into CRLF); surrogates are not text. Everything else must come back as it was.
TEXT = Annotated[str, Field(max_length=30)]
SCALARS: list[Any] = [
    TEXT,
    Annotated[int, Field(ge=-(10**12), le=10**12)],
    float,
    bool,
    dt.date,
    dt.datetime,
    Colour,
    Size,
    Literal["a", "b", 3],
    Literal["only"],
    Optional[int],
    Annotated[list[TEXT], Field(max_length=3)],
    Annotated[list[Optional[int]], Field(max_length=3)],
    Annotated[dict[str, int], Field(max_length=2)],
    int | str,  # no single control: JSON text
    tuple[bool, int],
]


@st.composite
def models(draw: st.DrawFn, depth: int = 0) -> type[BaseModel]:
    names = draw(
        st.lists(
            st.sampled_from(["a", "b/c", "d~e", "f g", "h"]), min_size=1, max_size=4, unique=True
        )
    )
    fields: dict[str, Any] = {}
    for name in names:
        choice = draw(st.integers(0, 5)) if depth < 2 else 5
        if choice == 0:
            annotation: Any = draw(models(depth + 1))
        elif choice == 1:
            annotation = Annotated[list[draw(models(depth + 1))], Field(max_length=2)]  # type: ignore[misc]
        else:
            annotation = draw(st.sampled_from(SCALARS))
        if draw(st.booleans()):
            annotation = Optional[annotation]
        fields[name.replace("/", "_").replace("~", "_").replace(" ", "_")] = (
            annotation,
            Field(alias=name) if draw(st.booleans()) else Field(...),
        )
    return create_model(f"M{depth}_{len(names)}", **fields)


def _no_bad_text(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" not in value and "\x00" not in value
    if isinstance(value, dict):
        return all(_no_bad_text(k) and _no_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_no_bad_text(v) for v in value)
    return True


def _round_trip(target: Any, value: Any) -> tuple[Any, Any]:
    adapter = TypeAdapter(target)
    as_json = adapter.dump_python(value, mode="json", by_alias=True)
    root = field_tree(target_schema(target))
    html = render_form(root, as_json)
    back, problems = read_form(root, submitted(html))
    assert problems == {}
    return adapter.validate_python(back), as_json


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_form_round_trips_every_value(data: st.DataObject) -> None:
    model = data.draw(models())
    value = data.draw(
        instances(model).filter(
            lambda v: _no_bad_text(TypeAdapter(model).dump_python(v, mode="json"))
        )
    )
    back, _ = _round_trip(model, value)
    assert back == value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_lists_of_models_round_trip(data: st.DataObject) -> None:
    model = data.draw(models(depth=1))
    target = list[model]  # type: ignore[valid-type]
    value = data.draw(
        instances(target).filter(
            lambda v: _no_bad_text(TypeAdapter(target).dump_python(v, mode="json"))
        )
    )
    back, _ = _round_trip(target, value)
    assert back == value


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00")))
def test_any_text_survives_its_box(text: str) -> None:
    model = create_model("Note", body=(str, ...))
    back, _ = _round_trip(model, model(body=text))
    assert back.body == text


class Line(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    customer: str
    when: dt.date
    lines: list[Line]
    note: Optional[str] = None


def test_a_wrong_number_stays_as_typed_and_the_validator_names_it() -> None:
    root = field_tree(target_schema(Order))
    items = submitted(
        render_form(
            root,
            {
                "customer": "Ada",
                "when": "2026-01-02",
                "lines": [{"sku": "x", "qty": "12 kg"}],
                "note": None,
            },
        )
    )
    value, problems = read_form(root, items)
    assert value["lines"][0]["qty"] == "12 kg"
    assert problems == {}
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(Order).validate_python(value)
    [error] = raised.value.errors()
    assert error_pointer(root, error["loc"]) == "/lines/0/qty"


def test_removed_items_close_up_and_an_empty_list_is_still_a_list() -> None:
    root = field_tree(target_schema(Order))
    items = [
        ("v/customer", "Ada"),
        ("v/when", "2026-01-02"),
        ("__list__", "v/lines"),
        ("v/lines/2/sku", "b"),
        ("v/lines/2/qty", "2"),
        ("v/lines/0/sku", "a"),
        ("v/lines/0/qty", "1"),
        ("__null__", "v/note"),
    ]
    value, _ = read_form(root, items)
    assert value == {
        "customer": "Ada",
        "when": "2026-01-02",
        "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
        "note": None,
    }
    value, _ = read_form(
        root,
        [("v/customer", "Ada"), ("v/when", "2026-01-02"), ("__list__", "v/lines"), ("v/note", "")],
    )
    assert value["lines"] == [] and value["note"] == ""


def test_bad_json_text_is_a_problem_at_its_field() -> None:
    model = create_model("Loose", extra=(dict[str, int], ...))
    root = field_tree(target_schema(model))
    value, problems = read_form(root, [("v/extra", "{oops")])
    assert list(problems) == ["/extra"] and "not JSON" in problems["/extra"][0]
    assert value == {"extra": "{oops"}


def test_text_is_escaped_and_marks_are_shown() -> None:
    root = field_tree(target_schema(Order))
    html = render_form(
        root,
        {"customer": "<script>alert(1)</script>", "when": "2026-01-02", "lines": [], "note": "x"},
        FormContext(errors={"/when": ["bad <b>date</b>"]}, confidence={"/customer": 0.5}),
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "bad &lt;b&gt;date&lt;/b&gt;" in html
    assert "class='field is-text low'" in html and "50%" in html


def test_a_recursive_model_is_edited_as_json_below_itself() -> None:
    class Tree(BaseModel):
        name: str
        children: list[Tree] = []

    value = Tree(name="a", children=[Tree(name="b", children=[Tree(name="c")])])
    back, _ = _round_trip(Tree, value)
    assert back == value
