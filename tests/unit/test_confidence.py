"""``Result.confidence`` read off token evidence (``extract.core._confidence``)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.backends import TokenEvidence
from extract.core._confidence import AGGREGATES, token_confidence
from extract.schemas import leaf_spans

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, list[TokenEvidence]]:
    """A JSON answer cut into tokens of 1-4 bytes (never inside a character), each
    sampled with a probability or forced."""
    text = json.dumps(draw(VALUES), ensure_ascii=draw(st.booleans()))
    chars = list(text)
    evidence: list[TokenEvidence] = []
    i = 0
    while i < len(chars):
        n = draw(st.integers(1, 4))
        size = len("".join(chars[i : i + n]).encode())
        if draw(st.booleans()):
            p = draw(st.floats(0.0, 1.0))
            evidence.append(TokenEvidence(size, p, draw(st.floats(0.0, 1.0 - p))))
        else:
            evidence.append(TokenEvidence(size, None))
        i += n
    return text, evidence


def reference(text: str, evidence: list[TokenEvidence], aggregate: str) -> dict[str, float]:
    """Brute force: a token writes a value when their byte ranges overlap."""
    out = {}
    for pointer, (start, end) in leaf_spans(text).items():
        b_start, b_end = len(text[:start].encode()), len(text[:end].encode())
        at, wrote = 0, []
        for e in evidence:
            if at < b_end and at + e.size > b_start and e.p is not None:
                wrote.append(e)
            at += e.size
        out[pointer] = min(1.0, max(0.0, AGGREGATES[aggregate](wrote))) if wrote else 1.0
    return out


@given(answers(), st.sampled_from(sorted(AGGREGATES)))
def test_each_value_is_judged_by_the_tokens_that_wrote_it(
    answer: tuple[str, list[TokenEvidence]], aggregate: str
) -> None:
    text, evidence = answer
    confidence = token_confidence(text, evidence, aggregate)
    assert set(confidence) == set(leaf_spans(text))
    assert all(0.0 <= c <= 1.0 for c in confidence.values())
    expected = reference(text, evidence, aggregate)
    assert confidence == pytest.approx(expected)


@given(answers())
def test_the_minimum_is_never_above_the_first_nor_the_product_above_the_minimum(
    answer: tuple[str, list[TokenEvidence]],
) -> None:
    text, evidence = answer
    low = token_confidence(text, evidence, "min")
    first = token_confidence(text, evidence, "first")
    product = token_confidence(text, evidence, "product")
    for pointer in low:
        assert low[pointer] <= first[pointer] + 1e-12
        assert product[pointer] <= low[pointer] + 1e-12


def test_a_value_the_grammar_fixed_is_certain_and_other_evidence_does_not_leak() -> None:
    text = '{"kind":"person","age":41}'
    sizes = [len(p.encode()) for p in ['{"kind":"person","age":', "4", "1", "}"]]
    evidence = [
        TokenEvidence(sizes[0], None),
        TokenEvidence(sizes[1], 0.5, 0.3),
        TokenEvidence(sizes[2], 0.9, 0.05),
        TokenEvidence(sizes[3], None),
    ]
    assert token_confidence(text, evidence, "min") == {"/kind": 1.0, "/age": 0.5}
    assert token_confidence(text, evidence) == {"/kind": 1.0, "/age": 0.45}  # the product
    assert token_confidence(text, evidence, "margin") == pytest.approx({"/kind": 1.0, "/age": 0.2})


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ('{"a": 1}', []),  # no evidence: no number made up
        ('{"a": 1}', [TokenEvidence(3, 0.5)]),  # the bytes are not the text's
        ('{"a": ', [TokenEvidence(6, 0.5)]),  # not one JSON value
    ],
)
def test_no_confidence_without_evidence_that_fits(text: str, evidence: list[Any]) -> None:
    assert token_confidence(text, evidence) == {}


def test_multi_byte_characters_are_counted_in_bytes() -> None:
    text = '["é", "x"]'
    pieces = ['["', "é", '", "', "x", '"]']
    ps = [None, 0.25, None, 0.75, None]
    evidence = [TokenEvidence(len(t.encode()), p) for t, p in zip(pieces, ps, strict=True)]
    assert token_confidence(text, evidence) == {"/0": 0.25, "/1": 0.75}
    assert not math.isnan(sum(token_confidence(text, evidence, "product").values()))
