"""``min_confidence``: values below it are left out where the target allows, the rest
are listed as uncertain, and the record always validates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import extract
from extract.backends import Capabilities, Completion, Request, TokenEvidence
from extract.testing import ScriptedBackend


class Line(BaseModel):
    name: str
    note: str | None = None


class Order(BaseModel):
    customer: str
    city: str | None = None
    priority: int = 3
    lines: list[Line] = []


class Sure:
    """A backend that writes one answer and says how sure it was of each value: the
    token evidence of a local model, one token per value."""

    capabilities = Capabilities(grammar=False)
    name = "sure"

    def __init__(self, answer: dict[str, Any], sure: dict[str, float]) -> None:
        self.answer, self.sure = answer, sure

    def complete(self, request: Request) -> Completion:
        pieces: list[tuple[str, float | None]] = [("{", None)]
        for i, (key, value) in enumerate(self.answer.items()):
            pieces.append((("," if i else "") + json.dumps(key) + ":", None))
            pieces.append((json.dumps(value), self.sure.get(key)))
        pieces.append(("}", None))
        text = "".join(p for p, _ in pieces)
        evidence = tuple(TokenEvidence(len(p.encode()), s) for p, s in pieces)
        return Completion(text, "stop", 0, len(pieces), evidence=evidence)


def test_low_values_become_none_or_their_default_and_required_ones_are_uncertain() -> None:
    answer = {"customer": "Ada", "city": "Oslo", "priority": 1}
    backend = Sure(answer, {"customer": 0.2, "city": 0.3, "priority": 0.4})
    result = extract.Extractor(backend).run(Order, "text", min_confidence=0.5)
    assert result.value == Order(customer="Ada", city=None, priority=3)
    assert result.abstained == ("/city", "/priority") and result.uncertain == ("/customer",)
    assert result.confidence_source == "tokens"
    kept = extract.Extractor(backend).run(Order, "text", min_confidence=0.25)
    assert kept.value == Order(customer="Ada", city="Oslo", priority=1)
    assert kept.abstained == () and kept.uncertain == ("/customer",)
    assert extract.Extractor(backend).run(Order, "text").abstained == ()  # off by default


def test_an_ensemble_abstains_by_agreement_after_the_vote() -> None:
    def member(city: str) -> extract.Extractor:
        return extract.Extractor(ScriptedBackend([json.dumps({"customer": "Ada", "city": city})]))

    ensemble = extract.Ensemble([member("Oslo"), member("Oslo"), member("Rome")])
    result = ensemble.run(Order, "text", min_confidence=0.9)
    assert result.confidence_source == "agreement"
    assert result.value.city is None and result.abstained == ("/city",)
    assert result.value.customer == "Ada"  # all three agreed


def test_a_bad_threshold_is_a_usage_error() -> None:
    backend = Sure({"customer": "Ada"}, {})
    for bad in (1.5, -0.1, "high", True):
        with pytest.raises(extract.UsageError, match="min_confidence"):
            extract.Extractor(backend).run(Order, "text", min_confidence=bad)


@given(
    st.fixed_dictionaries(
        {"customer": st.text(max_size=5), "city": st.none() | st.text(max_size=5)},
        optional={"priority": st.integers(0, 9)},
    ),
    st.dictionaries(st.sampled_from(["customer", "city", "priority"]), st.floats(0, 1)),
    st.floats(0, 1),
)
def test_the_record_always_validates_and_every_low_value_is_accounted_for(
    answer: dict[str, Any], sure: dict[str, float], threshold: float
) -> None:
    result = extract.Extractor(Sure(answer, sure)).run(Order, "text", min_confidence=threshold)
    assert isinstance(result.value, Order)
    low = {p for p, c in result.confidence.items() if c < threshold}
    assert set(result.abstained) | set(result.uncertain) == low
    assert not set(result.abstained) & set(result.uncertain)
    for pointer in result.abstained:
        key = pointer[1:]
        assert getattr(result.value, key) == Order.model_fields[key].get_default()
