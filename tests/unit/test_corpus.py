"""The benchmark corpus (tests/corpus): every line loads, gold is grounded in the text,
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

from extract.testing import instances
from tests import corpus
from tests.corpus import (
    TASKS,
    Contact,
    Document,
    Invoice,
    LineItem,
    NewsEntity,
    TeamMember,
    field_scores,
    load,
)

DOCS: dict[str, list[Document]] = {task: load(task) for task in TASKS}
ALL_DOCS = [doc for docs in DOCS.values() for doc in docs]


# --- helpers -------------------------------------------------------------------------------


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every leaf of a JSON value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


def different(value: Any) -> Any:
    """A leaf value that never matches ``value`` (text compares case-folded)."""
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
    if all(isinstance(item, NewsEntity) for item in gold):
        return [entity.text for entity in gold]
    return [member.name for member in gold]


@pytest.mark.parametrize("doc", ALL_DOCS, ids=lambda d: d.id)
def test_gold_strings_occur_in_the_text(doc: Document) -> None:
    text = doc.text.casefold()
    for value in grounded_strings(doc):
        assert value.casefold() in text, f"{doc.id}: {value!r} not in the text"


def test_team_texts_name_two_to_five_people() -> None:
    assert all(2 <= len(doc.gold) <= 5 for doc in DOCS["team"])


def test_news_entities_are_written_exactly_so_in_the_text() -> None:
    for doc in DOCS["news"]:
        texts = [entity.text for entity in doc.gold]
        assert 3 <= len(texts) <= 8, doc.id
        assert len(texts) == len(set(texts)), f"{doc.id}: an entity listed twice"
        for value in texts:
            assert value in doc.text, f"{doc.id}: {value!r} not verbatim in the text"


def test_news_kinds_cover_every_label() -> None:
    kinds = {entity.kind for doc in DOCS["news"] for entity in doc.gold}
    assert kinds == {"person", "organisation", "place"}


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


# --- field_scores: the project's scorer on the corpus models --------------------------------


def _counts(task: str, predicted: Any, gold: Any) -> tuple[int, int, int]:
    c = field_scores(task, predicted, gold)
    return c.tp, c.fp, c.fn


def _leaves(value: Any) -> int:
    """Non-empty leaves: the gold values a prediction can find."""
    return sum(1 for path in leaf_paths(to_jsonable_python(value)) if _at(value, path) is not None)


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    node = to_jsonable_python(value)
    for key in path:
        node = node[key]
    return node


def test_gold_against_itself_finds_every_value() -> None:
    for task, docs in DOCS.items():
        for doc in docs:
            n = _leaves(doc.gold)
            assert _counts(task, doc.gold, doc.gold) == (n, 0, 0), doc.id
            assert _counts(task, copy.deepcopy(doc.gold), doc.gold) == (n, 0, 0), doc.id


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


def test_a_wrong_value_is_a_false_positive_and_a_false_negative() -> None:
    assert _counts("contact", CONTACT.model_copy(update={"city": "Warsaw"}), CONTACT) == (2, 1, 1)
    assert _counts("contact", CONTACT.model_copy(update={"email": None}), CONTACT) == (2, 0, 1)
    assert _counts("contact", CONTACT.model_copy(update={"phone": "1"}), CONTACT) == (3, 1, 0)
    late = INVOICE.model_copy(update={"issued": datetime.date(2024, 3, 6)})
    assert _counts("invoice", late, INVOICE) == (10, 1, 1)
    items = [INVOICE.items[0], INVOICE.items[1].model_copy(update={"quantity": 3})]
    assert _counts("invoice", INVOICE.model_copy(update={"items": items}), INVOICE) == (10, 1, 1)
    team = [TEAM[0], TEAM[1].model_copy(update={"area": "design"})]
    assert _counts("team", team, TEAM) == (5, 1, 1)


def test_text_ignores_case_and_spacing() -> None:
    shouty = CONTACT.model_copy(update={"name": "  MARTA   kowalczyk\n", "city": "KRAKOW "})
    assert _counts("contact", shouty, CONTACT) == (3, 0, 0)


def test_numbers_within_relative_tolerance() -> None:
    def priced(price: float) -> Invoice:
        items = [INVOICE.items[0].model_copy(update={"unit_price": price}), INVOICE.items[1]]
        return INVOICE.model_copy(update={"items": items})

    assert _counts("invoice", priced(850.0 * (1 + 1e-9)), INVOICE) == (11, 0, 0)
    assert _counts("invoice", priced(850.01), INVOICE) == (10, 1, 1)


def test_a_failed_extraction_misses_everything() -> None:
    assert _counts("contact", None, CONTACT) == (0, 0, 3)
    assert _counts("invoice", None, INVOICE) == (0, 0, 11)
    assert _counts("team", None, TEAM) == (0, 0, 6)
    assert _counts("team", {"name": "x"}, TEAM) == (0, 1, 6)  # the wrong shape finds nothing


def test_list_items_are_paired_by_content_not_position() -> None:
    assert _counts("team", TEAM[::-1], TEAM) == (6, 0, 0)
    assert _counts("team", TEAM[:1], TEAM) == (3, 0, 3)  # a missing member: missed
    extra = TeamMember(name="Victor Lam", area="management", years=20)
    assert _counts("team", [*TEAM, extra], TEAM) == (6, 3, 0)  # an extra one: invented
    one_item = INVOICE.model_copy(update={"items": INVOICE.items[:1]})
    assert _counts("invoice", one_item, INVOICE) == (8, 0, 3)
    assert _counts("invoice", INVOICE, one_item) == (8, 3, 0)


# --- properties ----------------------------------------------------------------------------


def check_identity_and_one_perturbation(task: str, value: Any, data: st.DataObject) -> None:
    n = _leaves(value)
    assert _counts(task, value, value) == (n, 0, 0)
    assert _counts(task, to_jsonable_python(value), value) == (n, 0, 0)
    paths = [p for p in leaf_paths(to_jsonable_python(value)) if _at(value, p) is not None]
    if not paths:  # an empty team: nothing to perturb
        return
    path = data.draw(st.sampled_from(paths), label="leaf")
    # One changed value: one invention and one miss (a list item with one value changed
    # still pairs with its gold item: the others agree).
    assert _counts(task, perturbed(value, path), value) == (n - 1, 1, 1)


@settings(max_examples=50)
@given(doc=st.sampled_from(ALL_DOCS), data=st.data())
def test_perturbing_one_gold_leaf_costs(doc: Document, data: st.DataObject) -> None:
    task = next(t for t, docs in DOCS.items() if doc in docs)
    check_identity_and_one_perturbation(task, doc.gold, data)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_perturbing_one_leaf_of_any_instance_costs(task: str) -> None:
    target, _ = TASKS[task]

    @settings(max_examples=25)
    @given(value=instances(target), data=st.data())
    def check(value: Any, data: st.DataObject) -> None:
        check_identity_and_one_perturbation(task, value, data)

    check()


def test_news_gold_spans_point_at_their_names() -> None:
    for doc in DOCS["news"]:
        assert len(doc.spans) == len(doc.gold), doc.id
        for i, entity in enumerate(doc.gold):
            start, end = doc.spans[f"/{i}/text"]
            assert doc.text[start:end] == entity.text, doc.id
