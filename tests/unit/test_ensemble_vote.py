"""The vote (``extract.ensemble.vote``): agreement, majorities, list items, confidence."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.features.ensemble import Ballot, vote

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(-2, 2, allow_nan=False, width=16)
    | st.text("aAb ", max_size=3)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text("xyz", max_size=2), inner, max_size=3)
    ),
    max_leaves=10,
)


def pointers(value: Any, here: str = "") -> set[str]:
    out = {here}
    if isinstance(value, dict):
        for key, child in value.items():
            out |= pointers(child, f"{here}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out |= pointers(child, f"{here}/{i}")
    return out


@given(json_values, st.integers(1, 5))
def test_members_that_all_agree_give_their_value_with_confidence_one(value: Any, n: int) -> None:
    result = vote([Ballot(value) for _ in range(n)])
    assert result.value == value
    assert result.confidence == dict.fromkeys(pointers(value), 1.0)


@given(json_values, st.lists(json_values, max_size=3), st.randoms(use_true_random=False))
@settings(max_examples=300)
def test_a_strict_majority_wins_whatever_the_order_of_members(
    value: Any, others: list[Any], rnd: Any
) -> None:
    copies = len(others) + 1  # more than half of all members
    ballots = [Ballot(value) for _ in range(copies)] + [Ballot(o) for o in others]
    rnd.shuffle(ballots)
    result = vote(ballots)
    assert result.value == value
    assert all(share > 0.5 for share in result.confidence.values())


_distinct = st.lists(st.integers(-9, 9) | st.text("ab", min_size=1, max_size=3), min_size=2,
                     max_size=4, unique_by=lambda v: (type(v), str(v).casefold()))  # fmt: skip


@given(_distinct, st.data())
def test_ties_go_to_the_heavier_member_then_to_the_first(values: list[Any], data: Any) -> None:
    heavy = data.draw(st.integers(0, len(values) - 1))
    weighted = [Ballot({"v": v}, 2.0 if i == heavy else 1.0) for i, v in enumerate(values)]
    assert vote(weighted).value == {"v": values[heavy]}
    assert vote([Ballot({"v": v}) for v in values]).value == {"v": values[0]}
    # Two light members that agree outweigh a heavy one of their combined weight? No:
    # equal weight (2 = 1 + 1), so the heavier single member decides.
    pair = [Ballot(values[0], 2.0), Ballot(values[1]), Ballot(values[1])]
    assert vote(pair).value == values[0]


_ids = st.lists(st.text("abcdefghij", min_size=3, max_size=6), min_size=1, max_size=6, unique=True)


@given(_ids, st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=2, max_size=5))
@settings(max_examples=200)
def test_list_items_are_matched_not_truncated(names: list[str], keeps: list[list[bool]]) -> None:
    # Every member reports the same items, each missing some of them.
    items = [{"name": name, "rank": i} for i, name in enumerate(names)]
    answers = [[item for item, keep in zip(items, row, strict=False) if keep] for row in keeps]
    result = vote([Ballot(a) for a in answers])
    holders = {item["name"]: sum(item in a for a in answers) for item in items}
    expected = {name for name, n in holders.items() if n >= len(answers) / 2}
    found = [item["name"] for item in result.value]
    assert sorted(found) == sorted(expected)  # each once, none cut for a short member
    for k, name in enumerate(found):
        assert result.confidence[f"/{k}"] == holders[name] / len(answers)
        assert result.value[k] == next(item for item in items if item["name"] == name)


@given(st.lists(st.lists(st.sampled_from("abc"), max_size=4), min_size=1, max_size=5))
def test_scalar_lists_vote_as_multisets(answers: list[list[str]]) -> None:
    result = vote([Ballot(a) for a in answers])
    for letter in "abc":
        counts = sorted((a.count(letter) for a in answers), reverse=True)
        # The k-th copy is kept when at least half the members have k copies.
        kept = sum(1 for k in range(1, 5) if sum(c >= k for c in counts) >= len(answers) / 2)
        assert result.value.count(letter) == kept


@given(st.lists(json_values, min_size=1, max_size=4), st.data())
def test_a_lead_is_taken_as_it_is(values: list[Any], data: st.DataObject) -> None:
    lead = data.draw(st.integers(0, len(values) - 1))
    result = vote([Ballot(v) for v in values], lead=lead)
    assert result.value == values[lead]
    assert set(result.confidence) == pointers(values[lead])
    assert result.confidence[""] >= 1 / len(values)


def test_items_are_aligned_by_grounded_spans_when_members_have_them() -> None:
    # Two spellings of one person (the same place in the text) are one item.
    a = Ballot(
        [{"name": "K. Thompson"}, {"name": "Ada"}], spans={"/0/name": (10, 21), "/1/name": (0, 3)}
    )
    b = Ballot([{"name": "Ken Thompson"}], spans={"/0/name": (8, 21)})
    result = vote([a, b], min_support=1.0)
    assert result.value == [{"name": "K. Thompson"}]
    assert result.confidence["/0"] == 1.0 and result.confidence["/0/name"] == 0.5
    assert result.sources["/0/name"] == [(0, "/0/name")]


def test_a_value_is_given_when_enough_members_give_one() -> None:
    # Two of four fill the field (in two ways), two leave it empty: it is filled.
    split = [Ballot({"a": 1}), Ballot({"a": None}), Ballot({"a": 2}), Ballot({})]
    result = vote(split)
    assert result.value == {"a": 1}  # 1 and 2 tie: the first member's
    assert result.confidence == {"": 1.0, "/a": 1 / 4}
    assert vote(split, min_support=0.75).value == {"a": None}  # null and absent tie: first
    assert vote([Ballot({"a": 1}), Ballot({}), Ballot({})]).value == {}
    assert vote([Ballot({"a": 1}), Ballot({"a": None}), Ballot({"a": None})]).value == {"a": None}


def test_strings_are_grouped_with_case_and_spacing_folded_and_the_spelling_voted() -> None:
    result = vote([Ballot("Acme  Ltd"), Ballot("ACME Ltd"), Ballot("ACME Ltd"), Ballot("Other")])
    assert result.value == "ACME Ltd"
    assert result.confidence[""] == 0.75
