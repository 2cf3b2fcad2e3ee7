"""The loop's choice between systems, and the work a reviewer does: laws."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from extract.apps.evaluation._score import Counts, Scorer
from extract.apps.loop._choose import agreement, choose, compose, unit_counts, units_of

SYSTEMS = ["student", "nearest", "teacher"]
UNITS = ["/name", "/city", "/items"]
COUNTS = st.builds(Counts, st.integers(0, 20), st.integers(0, 20), st.integers(0, 20))
EVIDENCE = st.dictionaries(
    st.sampled_from(SYSTEMS),
    st.dictionaries(st.sampled_from(UNITS), st.tuples(st.integers(0, 12), COUNTS)),
)
AVAILABLE = st.lists(st.sampled_from(SYSTEMS), min_size=1, max_size=3, unique=True)


@given(EVIDENCE, AVAILABLE, st.integers(0, 8))
def test_each_field_goes_to_the_best_scored_system_with_enough_evidence(
    evidence: dict[str, Any], available: list[str], least: int
) -> None:
    chosen = choose(evidence, UNITS, available, min_documents=least)
    for unit, system in chosen.items():
        assert system in available
        scored = {
            s: evidence[s][unit][1].f1
            for s in available
            if unit in evidence.get(s, {}) and evidence[s][unit][0] >= max(1, least)
        }
        if scored:
            assert scored[system] == max(scored.values())
            best = [s for s in available if scored.get(s) == max(scored.values())]
            assert system == best[0]  # ties: the first listed
        else:
            assert system == ("teacher" if "teacher" in available else available[0])


@given(EVIDENCE, AVAILABLE)
def test_the_order_evidence_arrives_in_changes_nothing(
    evidence: dict[str, Any], available: list[str]
) -> None:
    reversed_evidence = {s: dict(reversed(u.items())) for s, u in reversed(evidence.items())}
    assert choose(evidence, UNITS, available) == choose(reversed_evidence, UNITS, available)


RECORDS = st.fixed_dictionaries(
    {
        "name": st.text(max_size=5),
        "city": st.none() | st.text(max_size=5),
        "items": st.lists(st.integers(0, 3), max_size=3),
    }
)


@given(st.dictionaries(st.sampled_from(SYSTEMS), RECORDS, min_size=1))
def test_a_composed_record_takes_each_field_from_its_system(values: dict[str, Any]) -> None:
    systems = list(values)
    chosen = {unit: systems[i % len(systems)] for i, unit in enumerate(UNITS)}
    composed = compose(values, chosen)
    for unit, system in chosen.items():
        assert composed[unit[1:]] == values[system][unit[1:]]
    one = {unit: systems[0] for unit in UNITS}
    assert compose(values, one) == values[systems[0]]
    same = {s: values[systems[0]] for s in ("a", "b")}
    assert agreement(same, dict.fromkeys(UNITS, "a")) == 1.0
    if len(systems) > 1 and values[systems[0]] != values[systems[1]]:
        assert agreement(values, one) < 1.0


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "city": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "items": {"type": "array", "items": {"type": "integer"}},
    },
}


@given(RECORDS, RECORDS)
def test_edits_are_what_it_takes_to_turn_a_prediction_into_gold(
    predicted: dict[str, Any], gold: dict[str, Any]
) -> None:
    scorer = Scorer(SCHEMA)
    assert scorer.score(gold, gold).total().edits == 0
    total = scorer.score(predicted, gold).total()
    assert 0 <= total.changed <= min(total.fp, total.fn)
    assert max(total.fp, total.fn) <= total.edits <= total.fp + total.fn
    typing = scorer.score(None, gold).total()
    assert typing.edits == typing.fn == typing.support  # typing it all: every gold value
    per_unit = unit_counts(scorer.score(predicted, gold), units_of(SCHEMA))
    assert sum(c.edits for c in per_unit.values()) == total.edits


def test_units_are_top_level_fields_or_the_whole_record() -> None:
    assert units_of(SCHEMA) == ["/name", "/city", "/items"]
    assert units_of({"type": "array", "items": {"type": "string"}}) == [""]
    wrapped = {"$ref": "#/$defs/A", "$defs": {"A": {"type": "object", "properties": {"a/b": {}}}}}
    assert units_of(wrapped) == ["/a~1b"]
    assert compose({"t": {"a/b": 1}}, {"/a~1b": "t"}) == {"a/b": 1}
