"""Confidence from the embedded model's own token probabilities, in one pass."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

import extract
from extract.schemas import leaf_spans


class Person(BaseModel):
    kind: Literal["person"]  # one choice: the grammar writes it, the model decides nothing
    name: str
    age: int
    city: str | None = None


TEXT = "Alice Martin, 34, lives in Paris."


@pytest.mark.model
def test_every_value_of_a_local_run_has_a_confidence_read_off_its_tokens(
    extractor: Any,
) -> None:
    result = extractor.run(Person, TEXT)
    assert result.confidence_source == "tokens"
    assert set(result.confidence) == set(leaf_spans(result.raw))
    assert all(0.0 <= c <= 1.0 for c in result.confidence.values())
    assert result.confidence["/kind"] == 1.0  # fixed by the grammar
    evidence = result.attempts[-1].evidence
    assert sum(e.size for e in evidence) == len(result.raw.encode())
    assert any(e.p is None for e in evidence) and any(e.p is not None for e in evidence)
    assert all(e.p is None or 0.0 < e.p <= 1.0 for e in evidence)


@pytest.mark.model
def test_min_confidence_on_the_model_keeps_a_valid_record(extractor: Any) -> None:
    result = extractor.run(Person, TEXT, min_confidence=1.0)
    assert isinstance(result.value, Person)
    low = {p for p, c in result.confidence.items() if c < 1.0}
    assert set(result.abstained) | set(result.uncertain) == low
    assert "/kind" not in low and {"/name", "/age"} <= set(result.uncertain)
    if "/city" in low:
        assert result.value.city is None and "/city" in result.abstained


@pytest.mark.model
def test_the_evaluation_report_says_how_well_confidence_ranks(extractor: Any) -> None:
    data = [
        ("a", "Alice Martin, 34, lives in Paris.", {"kind": "person", "name": "Alice Martin",
                                                    "age": 34, "city": "Paris"}),
        ("b", "Bob, a carpenter from Oslo.", {"kind": "person", "name": "Bob", "age": 0}),
    ]  # fmt: skip
    report = extract.evaluate(Person, data, {"local": extractor})
    calibration = report.summary("local").to_json()["calibration"]
    assert calibration["source"] == "tokens" and calibration["values"] >= 6
    assert set(calibration["fields"]) >= {"/name", "/age", "/kind"}
    assert "Confidence" in report.render()
