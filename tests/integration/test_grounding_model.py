"""Grounding on the embedded model: quotes copied from the text, and a document longer
than the context window read chunk by chunk."""

from __future__ import annotations

import pytest

import extract
from tests.corpus import GroundedNews, load

pytestmark = pytest.mark.model


def test_a_document_longer_than_the_context_comes_back_whole() -> None:
    news = load("news")
    shots = [(doc.text, doc.gold) for doc in news[:2]]
    docs = news[2:8]
    text = "\n\n".join(doc.text for doc in docs)
    small = extract.Extractor(n_ctx=1024)  # the text alone is about 900 tokens
    with pytest.raises(extract.ContextWindowError):
        small.run(GroundedNews, text + text, max_tokens=200, max_chunks=1)
    result = small.run(GroundedNews, text, max_tokens=200, max_retries=1, examples=shots)
    assert result.timings["chunks"] >= 2
    spans = [result.spans[f"/{i}/text"] for i in range(len(result.value))]
    for entity, (start, end) in zip(result.value, spans, strict=True):
        assert text[start:end] == entity.text  # offsets into the whole document
    assert set(result.alignment.values()) == {"exact"}  # the grammar wrote substrings
    assert len(spans) == len(set(spans))  # nothing twice from an overlap
    # every part of the document was read: each third holds a quote
    thirds = [(k * len(text) // 3, (k + 1) * len(text) // 3) for k in range(3)]
    assert all(any(lo <= s < hi for s, _ in spans) for lo, hi in thirds), spans
