"""A per-field calibration fitted on reviewed values, saved, and applied to results."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import extract
from extract import Calibration
from extract.apps.evaluation import EvalReport, Scorer, fit_calibration
from extract.apps.evaluation._report import DocumentRun
from extract.backends import Completion, TokenEvidence
from extract.core._calibration import fit_knots
from extract.testing import ScriptedBackend

PAIRS = st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), min_size=1, max_size=80)


@given(PAIRS)
def test_the_fitted_map_keeps_the_order_and_never_scores_worse(
    pairs: list[tuple[float, bool]],
) -> None:
    knots = fit_knots(pairs)
    xs, ys = knots
    assert list(xs) == sorted(set(xs)) and all(0.0 <= y <= 1.0 for y in ys)
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(ys))  # monotone
    calibration = Calibration("tokens", knots)
    mapped = [calibration.apply({"/a": c})["/a"] for c, _ in pairs]
    # Isotonic regression minimises the squared error over monotone maps, and the
    # identity is one: on the values it was fitted on it is never worse (Brier score).
    brier_raw = sum((c - r) ** 2 for c, r in pairs)
    brier_fit = sum((m - r) ** 2 for m, (_, r) in zip(mapped, pairs, strict=True))
    assert brier_fit <= brier_raw + 1e-9


@given(PAIRS, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_applying_is_monotone_between_and_beyond_the_knots(
    pairs: list[tuple[float, bool]], a: float, b: float
) -> None:
    calibration = Calibration("tokens", fit_knots(pairs))
    low, high = sorted((a, b))
    mapped = calibration.apply({"/x": low, "/y": high})
    assert 0.0 <= mapped["/x"] <= mapped["/y"] + 1e-12 <= 1.0 + 1e-12


def _report(values: list[tuple[str, float, bool]]) -> EvalReport:
    """One document per value: field ``a`` or ``b``, its confidence, right or not."""
    scorer = Scorer({"type": "object", "properties": {"a": {"type": "string"},
                                                      "b": {"type": "string"}}})  # fmt: skip
    runs = []
    for i, (name, sure, right) in enumerate(values):
        prediction, gold = {name: "x"}, {name: "x" if right else "y"}
        runs.append(
            DocumentRun(f"d{i}", "s", 0, prediction, gold, scorer.score(prediction, gold),
                        confidence={f"/{name}": sure}, confidence_source="tokens")
        )  # fmt: skip
    return EvalReport("T", ["s"], runs)


def test_fields_with_enough_values_get_their_own_map_the_rest_the_pooled_one(
    tmp_path: Path,
) -> None:
    # Field a: sure values are right; field b (few values): sure values are wrong.
    values = [("a", 0.9, True)] * 20 + [("a", 0.2, False)] * 20 + [("b", 0.9, False)] * 5
    calibration = fit_calibration(_report(values), min_values=30)
    assert set(calibration.fields) == {"/a"} and calibration.values == 45
    assert calibration.apply({"/a": 0.9})["/a"] == 1.0
    assert calibration.apply({"/a": 0.2})["/a"] == 0.0
    pooled = calibration.apply({"/b": 0.9})["/b"]
    assert pooled == pytest.approx(20 / 25)  # a's 20 right and b's 5 wrong at 0.9
    path = tmp_path / "contact.calibration.json"
    calibration.save(path)
    assert Calibration.load(path) == calibration
    path.write_text(json.dumps({"version": 1, "source": "tokens", "pooled": [[0.5], [2.0]],
                                "fields": {}}))  # fmt: skip
    with pytest.raises(extract.UsageError, match="within"):
        Calibration.load(path)
    with pytest.raises(extract.UsageError, match="cannot read"):
        Calibration.load(tmp_path / "missing.json")
    with pytest.raises(extract.UsageError, match="no confidences"):
        fit_calibration(EvalReport("T", ["s"], []))


class Contact(BaseModel):
    name: str
    email: str | None = None


def _answer() -> Completion:
    """An answer whose tokens are sure of the name (0.9) and not of the email (0.3)."""
    pieces = [('{"name":"', None), ('Ann"', 0.9), (',"email":"', None), ('a@b"', 0.3),
              ("}", None)]  # fmt: skip
    text = "".join(t for t, _ in pieces)
    evidence = tuple(TokenEvidence(len(t.encode()), p) for t, p in pieces)
    return Completion(text, "stop", 5, 5, evidence=evidence)


def test_a_result_is_calibrated_before_min_confidence_applies() -> None:
    raw = extract.Extractor(ScriptedBackend([_answer()])).run(Contact, "Ann, a@b")
    assert raw.confidence == {"/name": pytest.approx(0.9), "/email": pytest.approx(0.3)}
    # On this task a raw 0.3 was right 95% of the time and a raw 0.9 half the time.
    calibration = Calibration("tokens", ((0.3, 0.9), (0.95, 0.5)))
    extractor = extract.Extractor(ScriptedBackend([_answer()]))
    result = extractor.run(Contact, "Ann, a@b", calibration=calibration, min_confidence=0.6)
    assert result.confidence_source == "calibrated tokens"
    assert result.confidence == {"/name": pytest.approx(0.5), "/email": pytest.approx(0.95)}
    assert result.uncertain == ("/name",) and result.value.email == "a@b"
    other = Calibration("agreement", ((0.0,), (0.0,)))  # fitted on another source: unused
    again = extract.Extractor(ScriptedBackend([_answer()])).run(Contact, "t", calibration=other)
    assert again.confidence == raw.confidence and again.confidence_source == "tokens"
    with pytest.raises(extract.UsageError, match="calibration must be"):
        extract.Extractor(ScriptedBackend([_answer()])).run(Contact, "t", calibration=3)
