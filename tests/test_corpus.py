"""The benchmark corpus (benchmarks/corpus): every line loads, gold is grounded in the text,
and the field-level accuracy rule counts what its docstring says."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from benchmarks import corpus
from benchmarks.corpus import (
    TASKS,
    Contact,
    Document,
    Invoice,
    LineItem,
    TeamMember,
    field_accuracy,
    load,
)
from extract.testing import instances

DOCS: dict[str, list[Document]] = {task: load(task) for task in TASKS}
ALL_DOCS = [doc for docs in DOCS.values() for doc in docs]


# --- helpers -------------------------------------------------------------------------------


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every leaf of a JSON value (the leaves field_accuracy counts)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


def different(value: Any) -> Any:
    """A leaf value that can never match ``value`` under field_accuracy's rule."""
    if isinstance(value, str):
        return "other" if value.strip().casefold() == "perturbed" else "perturbed"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.0 if abs(value) < 1e3 else value * 0.5
    return "perturbed"  # None


def perturbed(value: Any, path: tuple[Any, ...]) -> Any:
    """The JSON form of ``value`` with the leaf at ``path`` replaced by a different one."""
    out = copy.deepcopy(to_jsonable_python(value))
    *parents, last = path
    node = out
    for key in parents:
        node = node[key]
    node[last] = different(node[last])
    return out


def word_count(text: str) -> int:
    return len(text.split())


# --- the files -----------------------------------------------------------------------------


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_task_has_at_least_20_valid_documents(task: str) -> None:
    target, _ = TASKS[task]
    docs = DOCS[task]
    assert len(docs) >= 20
    adapter: TypeAdapter[Any] = TypeAdapter(target)
    for doc in docs:
        # gold is already validated; it must also survive a JSON round trip unchanged
        assert adapter.validate_json(adapter.dump_json(doc.gold)) == doc.gold


def test_ids_are_unique_across_tasks() -> None:
    ids = [doc.id for doc in ALL_DOCS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("doc", ALL_DOCS, ids=lambda d: d.id)
def test_texts_are_40_to_200_words(doc: Document) -> None:
    assert 40 <= word_count(doc.text) <= 200


def grounded_strings(doc: Document) -> list[str]:
    """Gold strings that must appear verbatim (case-insensitively) in the text."""
    gold = doc.gold
    if isinstance(gold, Contact):
        fields = [gold.name, gold.email, gold.phone, gold.company, gold.city, gold.role]
        return [f for f in fields if f is not None]
    if isinstance(gold, Invoice):
        fields = [gold.number, gold.seller, gold.buyer, *(i.description for i in gold.items)]
        return [f for f in fields if f is not None]
    return [member.name for member in gold]


@pytest.mark.parametrize("doc", ALL_DOCS, ids=lambda d: d.id)
def test_gold_strings_occur_in_the_text(doc: Document) -> None:
    text = doc.text.casefold()
    for value in grounded_strings(doc):
        assert value.casefold() in text, f"{doc.id}: {value!r} not in the text"


def test_team_texts_name_two_to_five_people() -> None:
    assert all(2 <= len(doc.gold) <= 5 for doc in DOCS["team"])


def test_documents_are_frozen() -> None:
    with pytest.raises(AttributeError):
        ALL_DOCS[0].text = "changed"  # type: ignore[misc]


def test_load_rejects_an_unknown_task() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        load("recipes")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"id": "x", "text": "t"}', "keys id, text, gold"),
        ('{"id": "x", "text": "t", "gold": {"name": "A", "shoe_size": 44}}', "does not validate"),
        ('{"id": "", "text": "t", "gold": {"name": "A"}}', "id must be"),
        ('{"id": "contact-01", "text": "t", "gold": {"name": "B"}}', "duplicate id"),
    ],
)
def test_load_names_file_and_line_of_a_bad_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, problem: str
) -> None:
    good = '{"id": "contact-01", "text": "t", "gold": {"name": "A"}}'
    (tmp_path / "contacts.jsonl").write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    monkeypatch.setattr(corpus, "HERE", tmp_path)
    with pytest.raises(ValueError, match=rf"contacts\.jsonl:3\b.*{problem}"):
        load("contact")


# --- field_accuracy ------------------------------------------------------------------------


def test_gold_against_itself_matches_every_field() -> None:
    for doc in ALL_DOCS:
        gold = doc.gold
        if isinstance(gold, Contact):
            n = 6
        elif isinstance(gold, Invoice):
            n = 6 + 3 * len(gold.items)
        else:
            n = 3 * len(gold)
        assert field_accuracy(gold, gold) == (n, n), doc.id
        assert field_accuracy(copy.deepcopy(gold), gold) == (n, n), doc.id


CONTACT = Contact(name="Marta Kowalczyk", email="marta@example.com", city="Krakow")
INVOICE = Invoice(
    number="A-1",
    seller="Redwood Print Studio",
    currency="USD",
    issued=datetime.date(2024, 3, 5),
    items=[
        LineItem(description="Logo", quantity=1, unit_price=850.0),
        LineItem(description="Cards", quantity=2, unit_price=120.0),
    ],
    status="sent",
)
TEAM = [
    TeamMember(name="Jonah Feld", area="backend", years=7),
    TeamMember(name="Sara Lindgren", area="frontend", years=4),
]


def test_a_changed_field_costs_exactly_one() -> None:
    assert field_accuracy(CONTACT.model_copy(update={"city": "Warsaw"}), CONTACT) == (5, 6)
    assert field_accuracy(CONTACT.model_copy(update={"phone": "1"}), CONTACT) == (5, 6)
    assert field_accuracy(CONTACT.model_copy(update={"email": None}), CONTACT) == (5, 6)
    late = INVOICE.model_copy(update={"issued": datetime.date(2024, 3, 6)})
    assert field_accuracy(late, INVOICE) == (11, 12)
    items = [INVOICE.items[0], INVOICE.items[1].model_copy(update={"quantity": 3})]
    assert field_accuracy(INVOICE.model_copy(update={"items": items}), INVOICE) == (11, 12)
    team = [TEAM[0], TEAM[1].model_copy(update={"area": "design"})]
    assert field_accuracy(team, TEAM) == (5, 6)


def test_strings_ignore_case_and_outer_whitespace_only() -> None:
    shouty = CONTACT.model_copy(update={"name": "  MARTA kowalczyk\n", "city": "KRAKOW "})
    assert field_accuracy(shouty, CONTACT) == (6, 6)
    spaced = CONTACT.model_copy(update={"name": "Marta  Kowalczyk"})  # inner space counts
    assert field_accuracy(spaced, CONTACT) == (5, 6)


def test_floats_within_relative_tolerance() -> None:
    def priced(price: float) -> Invoice:
        items = [INVOICE.items[0].model_copy(update={"unit_price": price}), INVOICE.items[1]]
        return INVOICE.model_copy(update={"items": items})

    assert field_accuracy(priced(850.0 * (1 + 1e-9)), INVOICE) == (12, 12)
    assert field_accuracy(priced(850.01), INVOICE) == (11, 12)


def test_plain_json_predictions_compare_like_models() -> None:
    as_json = INVOICE.model_dump(mode="json")
    assert field_accuracy(as_json, INVOICE) == (12, 12)
    as_json["items"][0]["unit_price"] = 850  # an int where the gold has a float
    assert field_accuracy(as_json, INVOICE) == (12, 12)
    as_json["issued"] = "2024-03-05 "
    assert field_accuracy(as_json, INVOICE) == (12, 12)
    del as_json["buyer"]  # absent is wrong, even where the gold is None
    assert field_accuracy(as_json, INVOICE) == (11, 12)
    as_json["notes"] = "ignored"
    assert field_accuracy(as_json, INVOICE) == (11, 12)


def test_failed_extraction_scores_zero() -> None:
    assert field_accuracy(None, CONTACT) == (0, 6)
    assert field_accuracy(None, INVOICE) == (0, 12)
    assert field_accuracy(None, TEAM) == (0, 6)
    assert field_accuracy("not a record", CONTACT) == (0, 6)
    assert field_accuracy({"name": "x"}, TEAM) == (0, 6)


def test_list_length_mismatch() -> None:
    assert field_accuracy(TEAM[:1], TEAM) == (3, 6)  # a missing member: its leaves are wrong
    assert field_accuracy([], TEAM) == (0, 6)
    extra = TeamMember(name="Victor Lam", area="management", years=20)
    assert field_accuracy([*TEAM, extra], TEAM) == (6, 9)  # an extra one adds wrong leaves
    assert field_accuracy([*TEAM, {}], TEAM) == (6, 7)  # ...at least one
    assert field_accuracy(TEAM[::-1], TEAM) == (0, 6)  # by position, not by name
    one_item = INVOICE.model_copy(update={"items": INVOICE.items[:1]})
    assert field_accuracy(one_item, INVOICE) == (9, 12)
    assert field_accuracy(INVOICE, one_item) == (9, 12)


# --- properties ----------------------------------------------------------------------------


def check_identity_and_one_perturbation(value: Any, data: st.DataObject) -> None:
    paths = leaf_paths(to_jsonable_python(value))
    n = len(paths)
    assert field_accuracy(value, value) == (n, n)
    assert field_accuracy(to_jsonable_python(value), value) == (n, n)
    if n == 0:  # an empty team: nothing to perturb
        return
    path = data.draw(st.sampled_from(paths), label="leaf")
    assert field_accuracy(perturbed(value, path), value) == (n - 1, n)


@settings(max_examples=50)
@given(doc=st.sampled_from(ALL_DOCS), data=st.data())
def test_perturbing_one_gold_leaf_costs_one(doc: Document, data: st.DataObject) -> None:
    check_identity_and_one_perturbation(doc.gold, data)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_perturbing_one_leaf_of_any_instance_costs_one(task: str) -> None:
    target, _ = TASKS[task]

    @settings(max_examples=25)
    @given(value=instances(target), data=st.data())
    def check(value: Any, data: st.DataObject) -> None:
        check_identity_and_one_perturbation(value, data)

    check()
