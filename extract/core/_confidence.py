"""A value's confidence, read off the tokens that wrote it: one pass, no extra cost.

A local decoder gives, for every token it sampled, the model's probability of that
token among those the grammar allowed (``extract.backends.TokenEvidence``). The tokens
that overlap a leaf's characters in the answer (a string with its quotes, so the
decision to end it counts too) are that value's evidence; tokens the grammar forced
carry none, so a value the grammar fixed (a const, a single-choice enum) has
confidence 1. How the evidence of several tokens becomes one number is ``AGGREGATES``;
``DEFAULT_AGGREGATE`` was chosen by measurement (see docs/benchmarks/confidence.md).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Sequence

from extract.backends import Completion, TokenEvidence
from extract.schemas import leaf_spans, value_at


def _minimum(evidence: Sequence[TokenEvidence]) -> float:
    return min(e.p for e in evidence if e.p is not None)


def _product(evidence: Sequence[TokenEvidence]) -> float:
    return math.prod(e.p for e in evidence if e.p is not None)


def _geometric_mean(evidence: Sequence[TokenEvidence]) -> float:
    """The product per token: a long value is not less sure for being long."""
    ps = [e.p for e in evidence if e.p is not None]
    return math.exp(sum(math.log(max(p, 1e-300)) for p in ps) / len(ps))


def _first(evidence: Sequence[TokenEvidence]) -> float:
    return next(e.p for e in evidence if e.p is not None)


def _margin(evidence: Sequence[TokenEvidence]) -> float:
    """The smallest lead of the chosen token over the best other one."""
    return min(e.p - e.runner_up for e in evidence if e.p is not None)


AGGREGATES: dict[str, Callable[[Sequence[TokenEvidence]], float]] = {
    "min": _minimum,
    "product": _product,
    "geomean": _geometric_mean,
    "first": _first,
    "margin": _margin,
}
# Measured on the four corpus tasks with the embedded model (benchmarks/confidence.py,
# AUROC of right against wrong values, mean over tasks): product 0.733, min 0.697,
# margin 0.685, the geometric mean 0.661, first 0.44 (the first token often only opens
# the string). The product
# ranks values best: a value is as sure as all of its tokens together. It is not a
# probability of being right (its calibration error is larger than min's).
DEFAULT_AGGREGATE = "product"


def token_confidence(
    text: str, evidence: Sequence[TokenEvidence], aggregate: str = DEFAULT_AGGREGATE
) -> dict[str, float]:
    """JSON pointer -> confidence in [0, 1] for every leaf of the answer ``text``, from
    the ``evidence`` of the tokens that wrote it ({} when there is none, when the bytes
    of the tokens are not the text's, or when the text is not one JSON value)."""
    combine = AGGREGATES[aggregate]
    encoded = text.encode("utf-8", errors="surrogatepass")
    if not evidence or sum(e.size for e in evidence) != len(encoded):
        return {}
    try:
        spans = leaf_spans(text)
    except ValueError:
        return {}
    ends = []  # the byte offset where each token ends
    at = 0
    for e in evidence:
        at += e.size
        ends.append(at)
    # The byte offset of every character, and one past the last.
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8", errors="surrogatepass")))
    confidence: dict[str, float] = {}
    for pointer, (start, end) in spans.items():
        first = bisect.bisect_right(ends, offsets[start])  # the token holding its first byte
        last = bisect.bisect_left(ends, offsets[end])  # ... and its last
        wrote = [e for e in evidence[first : last + 1] if e.p is not None]
        confidence[pointer] = max(0.0, min(1.0, combine(wrote))) if wrote else 1.0
    return confidence


def answer_confidence(completion: Completion, candidate: str) -> dict[str, float]:
    """Each value's confidence in ``candidate`` (the answer as validated) from the
    tokens of ``completion``. A hosted answer may have been repaired or restored from
    the provider's dialect (unwrapped from ``completion.within``, nulls dropped): a
    value keeps the confidence of the tokens that wrote it only where it came through
    unchanged, so no value is given a number its tokens do not speak for."""
    if not completion.evidence:
        return {}
    found = token_confidence(completion.text, completion.evidence)
    prefix = completion.within
    if not found or (candidate == completion.text and not prefix):
        return found
    try:
        wrote, final = json.loads(completion.text), json.loads(candidate)
    except ValueError:
        return {}
    kept: dict[str, float] = {}
    for pointer, sure in found.items():
        if prefix and not (pointer == prefix or pointer.startswith(prefix + "/")):
            continue
        inner = pointer[len(prefix) :]
        there, value = value_at(final, inner)
        original = value_at(wrote, pointer)[1]
        if there and type(value) is type(original) and value == original:
            kept[inner] = sure
    return kept
