"""The calibration figures of the evaluation report, tested by their laws."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import extract
from extract.apps.evaluation import EvalReport, Scorer
from extract.apps.evaluation._calibration import (
    auroc,
    coverage_at,
    ece,
    reliability,
    threshold_for,
)
from extract.apps.evaluation._report import DocumentRun

CONFIDENCE = st.floats(0.0, 1.0, allow_nan=False)
PAIRS = st.lists(st.tuples(CONFIDENCE, st.booleans()), min_size=1, max_size=60)


def both_kinds(pairs: list[tuple[float, bool]]) -> bool:
    return any(r for _, r in pairs) and not all(r for _, r in pairs)


@given(PAIRS)
def test_auroc_is_the_chance_a_right_value_outranks_a_wrong_one(
    pairs: list[tuple[float, bool]],
) -> None:
    assume(both_kinds(pairs))
    rights = [c for c, r in pairs if r]
    wrongs = [c for c, r in pairs if not r]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in rights for b in wrongs)
    assert auroc(pairs) == pytest.approx(wins / (len(rights) * len(wrongs)))


@given(PAIRS)
def test_auroc_depends_only_on_the_order(pairs: list[tuple[float, bool]]) -> None:
    assume(both_kinds(pairs))
    order = sorted({c for c, _ in pairs})
    squashed = [(0.2 + order.index(c) / (2 * len(order)), r) for c, r in pairs]  # same order
    assert auroc(squashed) == pytest.approx(auroc(pairs))
    flipped = [(-c, r) for c, r in pairs]  # reversed order (negation is exact)
    assert auroc(flipped) == pytest.approx(1.0 - auroc(pairs))  # type: ignore[operator]


def test_auroc_of_separated_values_and_of_one_kind() -> None:
    assert auroc([(0.9, True), (0.8, True), (0.1, False)]) == 1.0
    assert auroc([(0.5, True), (0.5, False)]) == 0.5
    assert auroc([(0.9, True)]) is None and auroc([]) is None


@given(PAIRS, st.integers(1, 20))
def test_reliability_counts_every_value_once_and_ece_is_a_weighted_gap(
    pairs: list[tuple[float, bool]], bins: int
) -> None:
    buckets = reliability(pairs, bins)
    assert len(buckets) == bins and sum(b.values for b in buckets) == len(pairs)
    assert sum(b.right for b in buckets) == sum(r for _, r in pairs)
    for b in buckets:
        assert b.values == 0 or b.low - 1e-9 <= b.confidence <= b.high + 1e-9
    error = ece(pairs, bins)
    assert error is not None and 0.0 <= error <= 1.0


def test_ece_is_zero_when_each_bucket_is_as_right_as_it_is_sure() -> None:
    pairs = [(0.25, True)] + [(0.25, False)] * 3 + [(0.95, True)] * 19 + [(0.95, False)]
    assert ece(pairs) == pytest.approx(0.0)
    assert ece([(1.0, False)]) == 1.0 and ece([]) is None


@given(PAIRS, CONFIDENCE, CONFIDENCE)
def test_coverage_shrinks_as_the_precision_asked_for_grows(
    pairs: list[tuple[float, bool]], p: float, q: float
) -> None:
    low, high = sorted((p, q))
    at_low, at_high = coverage_at(pairs, low), coverage_at(pairs, high)
    assert at_low is not None and at_high is not None and at_low >= at_high
    if all(r for _, r in pairs):
        assert coverage_at(pairs, 1.0) == 1.0


@given(PAIRS, CONFIDENCE)
def test_the_threshold_is_the_lowest_that_reaches_the_precision(
    pairs: list[tuple[float, bool]], precision: float
) -> None:
    def precision_from(threshold: float) -> float:
        kept = [r for c, r in pairs if c >= threshold]
        return sum(kept) / len(kept)

    threshold = threshold_for(pairs, precision)
    lower = sorted({c for c, _ in pairs if threshold is None or c < threshold})
    for other in lower:  # no lower threshold reaches it
        assert precision_from(other) < precision
    if threshold is not None:
        assert precision_from(threshold) >= precision
        kept = sum(1 for c, _ in pairs if c >= threshold)
        assert coverage_at(pairs, precision) == kept / len(pairs)
    else:
        assert coverage_at(pairs, precision) == 0.0


def test_coverage_keeps_ties_together() -> None:
    pairs = [(0.9, True), (0.9, False), (0.8, True), (0.1, False)]
    assert coverage_at(pairs, 0.9) == 0.0  # 0.9 keeps a wrong value with the right one
    assert coverage_at(pairs, 0.6) == 0.75  # 2 of 3 right at 0.8 and above
    assert coverage_at([], 0.9) is None


def test_the_report_shows_calibration_and_recomputes_it_from_the_json() -> None:
    scorer = Scorer({"type": "object", "properties": {"a": {"type": "string"},
                                                      "b": {"type": "integer"}}})  # fmt: skip
    runs = []
    for i, (a, b, sure_a, sure_b) in enumerate(
        [("x", 1, 0.9, 0.2), ("x", 2, 0.8, 0.7), ("y", 1, 0.3, 0.6), ("x", 5, 0.95, 0.1)]
    ):
        prediction, gold = {"a": a, "b": b}, {"a": "x", "b": 1}
        runs.append(
            DocumentRun(f"d{i}", "s", 0, prediction, gold, scorer.score(prediction, gold),
                        confidence={"/a": sure_a, "/b": sure_b}, confidence_source="tokens")
        )  # fmt: skip
    report = EvalReport("T", ["s"], runs)
    c = report.summary("s").to_json()["calibration"]
    assert c["source"] == "tokens" and c["values"] == 8 and c["fields"]["/a"]["auroc"] == 1.0
    assert sum(b["values"] for b in c["reliability"]) == 8
    again = EvalReport.from_json(json.loads(json.dumps(report.to_json())))
    assert again.summary("s").to_json()["calibration"] == c
    assert "Confidence" in report.render() and "reliability" in report.to_html()
    assert isinstance(extract.EvalReport, type)
