"""Nearest examples: each document is shown the reviewed records most like it."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import extract
from extract import Nearest
from extract.testing import ScriptedBackend

WORDS = st.sampled_from(
    ["invoice", "acme", "lunch", "boxes", "laptop", "berlin", "paris", "total", "tax", "the"]
)
TEXTS = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)
POOLS = st.lists(st.tuples(TEXTS, st.integers()), min_size=0, max_size=12)


@given(POOLS, TEXTS, st.integers(1, 5))
def test_a_pick_is_k_records_of_the_pool_never_the_document_itself(
    pool: list[tuple[str, int]], text: str, k: int
) -> None:
    nearest = Nearest(pool, k)
    picked = nearest.pick(text)
    others = [p for p in pool if p[0] != text]
    assert len(picked) == min(k, len(others))
    assert all(p in others for p in picked) and all(t != text for t, _ in picked)
    assert nearest.pick(text) == picked  # deterministic


@given(POOLS, st.integers(1, 3))
def test_a_record_sharing_the_rare_word_comes_first(pool: list[tuple[str, int]], k: int) -> None:
    unique = "zanzibar"  # in no generated text
    nearest = Nearest([*pool, (f"{unique} invoice", -1)], k)
    assert nearest.pick(f"the {unique} order")[0] == (f"{unique} invoice", -1)


class Order(BaseModel):
    customer: str
    total: float


POOL = [
    ("Invoice for Acme Corp, total 12.50 EUR.", Order(customer="Acme Corp", total=12.5)),
    ("Lunch boxes for Globex, 30 USD in all.", Order(customer="Globex", total=30.0)),
    ("Berlin office: laptop stand, Initech, 99.", Order(customer="Initech", total=99.0)),
]


def test_the_nearest_record_is_the_example_the_model_is_shown() -> None:
    backend = ScriptedBackend(['{"customer": "Globex", "total": 8}'])
    extractor = extract.Extractor(backend)
    text = "Globex ordered more lunch boxes: 8 USD."
    value = extractor.extract(Order, text, examples=Nearest(POOL, k=1))
    assert value == Order(customer="Globex", total=8.0)
    prompt = "\n".join(m.content for m in backend.requests[0].messages)
    assert "Lunch boxes for Globex" in prompt
    assert "Acme Corp" not in prompt and "Initech" not in prompt


def test_bad_specs_and_pools_are_clear_errors() -> None:
    ex = extract.Extractor(ScriptedBackend(['{"customer": "a", "total": 1}'] * 3))
    with pytest.raises(extract.UsageError, match="needs reviewed records"):
        ex.extract(Order, "t", examples="nearest:3")
    with pytest.raises(extract.UsageError, match="K >= 1"):
        ex.extract(Order, "t", examples="nearest:x")
    with pytest.raises(extract.UsageError, match="k must be"):
        Nearest(POOL, 0)
    with pytest.raises(extract.UsageError, match="pairs"):
        Nearest(["just text"])  # type: ignore[list-item]
    wrong = Nearest([("a text", {"customer": "a"})], k=1)  # no total: not an Order
    with pytest.raises(extract.UsageError, match="does not validate"):
        ex.extract(Order, "another text", examples=wrong)


def test_it_travels_to_worker_processes_and_another_pool_is_another_cache_key() -> None:
    nearest = Nearest(POOL, k=2)
    text = "Acme Corp invoice"
    assert pickle.loads(pickle.dumps(nearest)).pick(text) == nearest.pick(text)
    assert repr(Nearest(POOL, 2)) == repr(nearest)
    assert repr(Nearest([*POOL[:2], ("other", POOL[2][1])], 2)) != repr(nearest)


def test_an_ensemble_member_with_its_own_options_gets_the_nearest_examples() -> None:
    backend = ScriptedBackend(['{"customer": "Globex", "total": 8}'] * 2)
    member = extract.Member(extract.Extractor(backend), options={"temperature": 0.0})
    ensemble = extract.Ensemble([member, extract.Extractor(backend)])
    text = "Globex ordered more lunch boxes: 8 USD."
    assert ensemble.extract(Order, text, examples=Nearest(POOL, k=1)).customer == "Globex"
    for request in backend.requests:
        prompt = "\n".join(m.content for m in request.messages)
        assert "Lunch boxes for Globex" in prompt and "Acme Corp" not in prompt
