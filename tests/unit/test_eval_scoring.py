"""The scorer's laws, on values drawn from real schemas (Hypothesis)."""

from __future__ import annotations

import datetime
import json
import random
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from extract import UsageError
from extract.evaluation import Counts, DocumentRun, EvalReport, Scorer, fuzzy, scorer_for
from extract.features.batch import jsonable
from extract.testing import instances


class Item(BaseModel):
    name: str
    price: float
    kind: Literal["food", "tool"] | None = None


class Order(BaseModel):
    number: str
    issued: datetime.date | None = None
    paid: bool = False
    items: list[Item] = []
    tags: list[str] = []
    note: str | None = None


# hypothesis-jsonschema filters internally (dates, list bounds): allowed here.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
orders = instances(Order).map(lambda o: jsonable(o, Order))
items = st.lists(instances(Item).map(lambda i: jsonable(i, Item)), min_size=1, max_size=5)
with_items = st.builds(lambda o, i: {**o, "items": i}, orders, items)


def _invented(n: int) -> dict[str, Any]:
    # Values no generated order uses together; a fresh name keeps it unpaired.
    return {"name": f"\x00invented {n}", "price": -1.5e300, "kind": None}


def _all(score: Any) -> list[Counts]:
    return [*score.fields.values(), *score.items.values()]


@SETTINGS
@given(orders)
def test_a_prediction_equal_to_gold_scores_one_everywhere(gold: dict[str, Any]) -> None:
    score = scorer_for(Order).score(gold, gold)
    for counts in _all(score):
        assert (counts.fp, counts.fn) == (0, 0)
        assert counts.precision == counts.recall == counts.f1 == 1.0
    # every non-empty leaf of gold is counted once
    leaves = sum(v is not None for k, v in gold.items() if k not in ("items", "tags"))
    leaves += sum(v is not None for item in gold["items"] for v in item.values())
    leaves += len(gold["tags"])
    assert score.total().tp == leaves


@SETTINGS
@given(with_items, st.randoms(use_true_random=False))
def test_shuffling_list_items_changes_nothing(gold: dict[str, Any], rnd: random.Random) -> None:
    scorer = scorer_for(Order)
    shuffled = {**gold, "items": rnd.sample(gold["items"], len(gold["items"])),
                "tags": rnd.sample(gold["tags"], len(gold["tags"]))}  # fmt: skip
    predicted = {**gold, "note": None if gold["note"] else "a note"}  # one wrong field
    assert scorer.score(predicted, shuffled) == scorer.score(predicted, gold)
    assert scorer.score(shuffled, gold) == scorer.score(gold, gold)


@SETTINGS
@given(with_items, st.data())
def test_removing_an_item_lowers_recall_and_nothing_else(
    gold: dict[str, Any], data: st.DataObject
) -> None:
    scorer = scorer_for(Order)
    drop = data.draw(st.integers(0, len(gold["items"]) - 1))
    predicted = {**gold, "items": gold["items"][:drop] + gold["items"][drop + 1 :]}
    score = scorer.score(predicted, gold)
    assert all(c.precision == 1.0 for c in _all(score))
    assert score.items["/items/*"].recall < 1.0
    assert score.items["/items/*"].fn == 1
    dropped = sum(v is not None for v in gold["items"][drop].values())
    assert score.total().fn == dropped


@SETTINGS
@given(with_items | orders, st.integers(1, 3))
def test_adding_invented_items_lowers_precision_and_nothing_else(
    gold: dict[str, Any], n: int
) -> None:
    scorer = scorer_for(Order)
    predicted = {**gold, "items": [*gold["items"], *(_invented(i) for i in range(n))]}
    score = scorer.score(predicted, gold)
    assert all(c.recall == 1.0 for c in _all(score))
    assert score.items["/items/*"].fp == n and score.items["/items/*"].precision < 1.0
    assert score.fields["/items/*/name"].fp == n
    assert score.total().fp == 2 * n  # name and price of each; kind is None


@SETTINGS
@given(orders, orders)
def test_scores_stay_in_the_unit_interval_and_add_up(
    predicted: dict[str, Any], gold: dict[str, Any]
) -> None:
    score = scorer_for(Order).score(predicted, gold)
    for counts in _all(score):
        assert 0.0 <= counts.precision <= 1.0 and 0.0 <= counts.recall <= 1.0
        assert 0.0 <= counts.f1 <= 1.0
    total = score.total()
    assert total.tp + total.fn == scorer_for(Order).score(gold, gold).total().tp
    assert total.tp + total.fp == scorer_for(Order).score(predicted, predicted).total().tp


@SETTINGS
@given(orders)
def test_a_failed_extraction_misses_every_gold_value(gold: dict[str, Any]) -> None:
    score = scorer_for(Order).score(None, gold)
    assert score.total().tp == score.total().fp == 0
    assert score.total().fn == scorer_for(Order).score(gold, gold).total().tp


def test_values_are_compared_by_their_type() -> None:
    scorer = scorer_for(Order)
    gold = {"number": "INV  1", "issued": "2024-03-05", "paid": True,
            "items": [{"name": "Café Crème", "price": 3.0, "kind": "food"}]}  # fmt: skip
    predicted = {"number": "inv 1", "issued": "2024-03-05", "paid": True,
                 "items": [{"name": "CAFÉ CRÈME ", "price": 3.0000001, "kind": "Food"}]}  # fmt: skip
    score = scorer.score(predicted, gold)
    assert score.fields["/number"].tp == 1  # text: case and spaces
    assert score.fields["/items/*/name"].tp == 1
    assert score.fields["/items/*/price"].tp == 1  # within the relative tolerance
    assert score.fields["/items/*/kind"].to_json() == {"tp": 0, "fp": 1, "fn": 1}  # enum: exact
    assert score.fields["/issued"].tp == 1 and score.fields["/paid"].tp == 1
    strict = Scorer(scorer.paths.root, tolerance=0.0).score(predicted, gold)
    assert strict.fields["/items/*/price"].to_json() == {"tp": 0, "fp": 1, "fn": 1}


def test_none_is_scored_as_in_information_extraction() -> None:
    scorer = scorer_for(Order)
    base = {"number": "1", "note": None}
    assert scorer.score({**base, "note": "x"}, base).fields["/note"].to_json() == {
        "tp": 0, "fp": 1, "fn": 0}  # fmt: skip
    assert scorer.score(base, {**base, "note": "x"}).fields["/note"].to_json() == {
        "tp": 0, "fp": 0, "fn": 1}  # fmt: skip
    assert "/note" not in scorer.score(base, base).fields  # both empty: nothing counted


def test_items_are_paired_optimally_not_greedily() -> None:
    # Greedy pairing would take (p0, g0): they share the name. The best pairing is
    # p0-g1 (name and price) and p1-g0 (price and kind).
    gold = {
        "number": "1",
        "items": [
            {"name": "a", "price": 1.0, "kind": "food"},
            {"name": "b", "price": 2.0, "kind": None},
        ],
    }
    predicted = {
        "number": "1",
        "items": [
            {"name": "b", "price": 2.0, "kind": "tool"},
            {"name": "c", "price": 1.0, "kind": "food"},
        ],
    }
    score = scorer_for(Order).score(predicted, gold)  # fmt: skip
    assert score.fields["/items/*/price"].to_json() == {"tp": 2, "fp": 0, "fn": 0}
    assert score.fields["/items/*/name"].to_json() == {"tp": 1, "fp": 1, "fn": 1}


def test_matcher_overrides_and_their_errors() -> None:
    gold = {"number": "1", "items": [{"name": "Blue widget", "price": 1.0}]}
    predicted = {"number": "1", "items": [{"name": "Blue widgets", "price": 1.0}]}
    plain = scorer_for(Order).score(predicted, gold)
    assert plain.fields["/items/*/name"].tp == 0
    loose = scorer_for(Order, matchers={"/items/*/name": fuzzy(0.9)}).score(predicted, gold)
    assert loose.fields["/items/*/name"].tp == 1
    by_name = scorer_for(Order, matchers={"/number": "exact"}).score(
        {"number": "A"}, {"number": "a"}
    )
    assert by_name.fields["/number"].tp == 0
    with pytest.raises(UsageError, match="no such field"):
        scorer_for(Order, matchers={"/items/*/colour": "exact"})
    with pytest.raises(UsageError, match="unknown matcher"):
        scorer_for(Order, matchers={"/number": "close"})
    with pytest.raises(UsageError, match="JSON pointer"):
        scorer_for(Order, matchers={"number": "exact"})


@SETTINGS
@given(st.lists(st.tuples(orders | st.none(), orders), min_size=1, max_size=6), st.integers(1, 2))
def test_report_totals_equal_a_recomputation_from_the_documents(
    pairs: list[tuple[Any, Any]], repeat: int
) -> None:
    scorer = scorer_for(Order)
    runs = [
        DocumentRun(
            f"d{i}",
            "s",
            k,
            p,
            g,
            scorer.score(p, g),
            None if p is not None else "ExtractionError",
            seconds=0.5,
        )
        for k in range(repeat)
        for i, (p, g) in enumerate(pairs)
    ]
    data = EvalReport("Order", ["s"], runs, repeat).to_json()
    figures = data["systems"]["s"]
    per_path: dict[str, Counts] = {}
    for doc in data["documents"]:
        for path, c in doc["fields"].items():
            per_path.setdefault(path, Counts()).add(Counts(**c))
    total = Counts()
    for path, counts in per_path.items():
        total.add(counts)
        f = figures["fields"][path]
        assert (f["precision"], f["recall"], f["f1"]) == (
            counts.precision,
            counts.recall,
            counts.f1,
        )
        assert f["support"] * repeat == counts.tp + counts.fn
    assert set(figures["fields"]) == set(per_path)
    assert figures["micro"] == {
        "precision": total.precision,
        "recall": total.recall,
        "f1": total.f1,
    }
    assert figures["valid"] == sum(p is not None for p, _ in pairs) / len(pairs)
    assert figures["records_per_s"] == 2.0
    assert EvalReport.from_json(json.loads(json.dumps(data))).to_json() == data


class Shapes(BaseModel):
    kind: Literal["a", "b"] = Field(alias="Kind")
    count: int | None = None
    code: int | str | None = None
    point: tuple[float, float] | None = None
    parts: list[Item | None] = []


def test_fields_are_scored_under_their_alias_with_the_right_matcher() -> None:
    scorer = scorer_for(Shapes)
    assert scorer.score({"Kind": "A"}, {"Kind": "a"}).fields["/Kind"].tp == 0  # enum: exact
    assert scorer_for(Shapes, matchers={"/Kind": "text"}).score(
        {"Kind": "A"}, {"Kind": "a"}).fields["/Kind"].tp == 1  # fmt: skip
    with pytest.raises(UsageError, match="no such field"):
        scorer_for(Shapes, matchers={"/kind": "text"})


def test_integers_are_exact_and_unions_with_text_compare_as_text() -> None:
    scorer = scorer_for(Shapes)
    base = {"Kind": "a"}
    near = scorer.score({**base, "count": 123456788}, {**base, "count": 123456789})
    assert near.fields["/count"].tp == 0
    assert scorer.score({**base, "code": "x1"}, {**base, "code": "X1"}).fields["/code"].tp == 1
    assert scorer.score({**base, "code": 7}, {**base, "code": 7}).fields["/code"].tp == 1


def test_tuples_compare_by_position() -> None:
    score = scorer_for(Shapes).score(
        {"Kind": "a", "point": [2.0, 1.0]}, {"Kind": "a", "point": [1.0, 2.0]}
    )
    assert score.fields["/point/0"].to_json() == {"tp": 0, "fp": 1, "fn": 1}
    assert score.fields["/point/1"].to_json() == {"tp": 0, "fp": 1, "fn": 1}


def test_empty_list_items_are_neither_found_nor_missed() -> None:
    item = {"name": "a", "price": 1.0, "kind": None}
    score = scorer_for(Shapes).score({"Kind": "a", "parts": [None]}, {"Kind": "a", "parts": [item]})
    assert score.items["/parts/*"].to_json() == {"tp": 0, "fp": 0, "fn": 1}
    both = scorer_for(Shapes).score({"Kind": "a", "parts": [None]}, {"Kind": "a", "parts": [None]})
    assert both.items.get("/parts/*", Counts()).to_json() == {"tp": 0, "fp": 0, "fn": 0}
    assert [path for path in both.fields if path.startswith("/parts")] == []


def test_matcher_paths_must_name_leaves() -> None:
    for path in ("/items/0/name", "/number/x", "/items", "/point/*"):
        with pytest.raises(UsageError, match=r"no such field|object or a list"):
            scorer_for(Order | Shapes if path == "/point/*" else Order, matchers={path: "exact"})
    assert scorer_for(Shapes, matchers={"/point/1": "exact"}).overrides


def test_nested_lists_are_paired_at_every_level() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node] = []

    def tree(depth: int, label: str = "n") -> dict[str, Any]:
        kids = [] if depth == 0 else [tree(depth - 1, f"{label}{i}") for i in range(3)]
        return {"name": label, "children": kids}

    scorer = scorer_for(Node)
    gold = tree(3)
    shuffled = {**gold, "children": gold["children"][::-1]}
    shuffled["children"][0]["children"].reverse()
    assert scorer.score(shuffled, gold).total().to_json() == {"tp": 40, "fp": 0, "fn": 0}
    assert scorer.score(shuffled, gold).items["/children/*/children/*"].tp == 9


def _leaf_pointers(value: Any, here: str = "") -> set[str]:
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in _leaf_pointers(v, f"{here}/{k}")}
    if isinstance(value, list):
        return {p for i, v in enumerate(value) for p in _leaf_pointers(v, f"{here}/{i}")}
    return {here}


@SETTINGS
@given(orders, orders)
def test_every_predicted_leaf_is_marked_right_or_wrong_consistently_with_the_counts(
    predicted: dict[str, Any], gold: dict[str, Any]
) -> None:
    scorer = scorer_for(Order)
    score = scorer.score(predicted, gold)
    assert set(score.leaves) == _leaf_pointers(predicted)  # every leaf, by its own pointer
    right_values = sum(
        right for pointer, right in score.leaves.items() if _at(predicted, pointer) is not None
    )
    assert right_values == score.total().tp
    assert all(scorer.score(predicted, predicted).leaves.values())


def _at(value: Any, pointer: str) -> Any:
    for step in pointer.split("/")[1:]:
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value
