"""What one extraction returns: the value and how it was obtained."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Generic, TypeVar

from extract.backends import TokenEvidence
from extract.schemas import ConstraintReport

T = TypeVar("T")


@dataclass(frozen=True)
class Usage:
    """Tokens spent, and their ``cost`` in money (US dollars) where it is known: the
    provider's prices through LiteLLM, or ``prices=`` given to the extractor. None when
    any part of it has no known price (never a guess)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cost: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_prompt_tokens + other.cached_prompt_tokens,
            _cost_sum(self, other),
        )


def _cost_sum(one: Usage, other: Usage) -> float | None:
    """Known only when both are: a part spent at an unknown price leaves the sum
    unknown. Nothing spent (``Usage()``, a sum's start) costs nothing."""
    if not one.total_tokens and one.cost is None:
        return other.cost
    if not other.total_tokens and other.cost is None:
        return one.cost
    if one.cost is None or other.cost is None:
        return None
    return one.cost + other.cost


@dataclass(frozen=True)
class Attempt:
    """One model call: its raw output and, if it was rejected, why."""

    raw: str
    errors: tuple[str, ...]
    truncated: bool
    usage: Usage
    seconds: float
    refused: bool = False  # the model declined to answer (a refusal or a content filter)
    # The model's probabilities of the tokens it wrote, where the backend gives them
    # (``extract.backends.TokenEvidence``: a local model); ``Result.confidence`` is read
    # off the last attempt's.
    evidence: tuple[TokenEvidence, ...] = field(default=(), repr=False, compare=False)
    # Why it was rejected, in a word: "invalid" (the validator's errors), "not JSON",
    # "not in the text" (a grounded value), "truncated", "repetition", "refused".
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Result(Generic[T]):
    value: T
    raw: str
    attempts: list[Attempt]
    usage: Usage
    report: ConstraintReport
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""  # the backend that produced it, e.g. "llama.cpp:SmolLM2-135M-Instruct..."
    # Grounded values (``extract.Quote``): JSON pointer -> (start, end) in the input text,
    # end exclusive, and how each was found ("exact", "normalized" or "fuzzy").
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    alignment: dict[str, str] = field(default_factory=dict)
    # How sure the source is of each value: JSON pointer -> a number in [0, 1], and
    # where it comes from: "tokens" (the model's probabilities of the tokens that wrote
    # it, from a local run) or "agreement" (the share of an ensemble's members agreeing
    # with it); empty, and None, where the source gives none (never a made-up number).
    confidence: dict[str, float] = field(default_factory=dict)
    confidence_source: str | None = None
    # ``min_confidence``: pointers whose values were left out (None, or the default)
    # for being below it, and those below it that the target required (kept).
    abstained: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    # An ensemble's vote (``extract.Ensemble``): every member's answer; and, when the
    # voted value did not validate, why and which member's answer was used instead.
    candidates: list[Candidate] = field(default_factory=list)
    fallback: str | None = None
    # A loop's suggestion (``extract.Loop``): the system(s) that made it, and for each
    # top-level field (JSON pointer; "" for a list target) the system chosen for it.
    system: str | None = None
    systems: dict[str, str] = field(default_factory=dict)

    @property
    def retries(self) -> int:
        """Attempts after the first; for an ensemble, after each member's first."""
        if self.candidates:
            return sum(c.retries for c in self.candidates)
        return max(0, len(self.attempts) - 1)

    @property
    def changed_retries(self) -> int:
        """How many retries answered differently from the attempt before them (within
        each member, for an ensemble: members differing is no retry)."""
        if self.candidates:
            return sum(c.changed_retries for c in self.candidates)
        return changed_retries(self.attempts)


@dataclass(frozen=True)
class Candidate:
    """One ensemble member's answer: its ``result``, or the ``error`` it failed with
    (``"Type: message"``)."""

    member: str
    result: Result[Any] | None = None
    error: str | None = None
    failed_attempts: tuple[Attempt, ...] = ()  # what a failed member's attempts wrote

    @property
    def value(self) -> Any:
        return None if self.result is None else self.result.value

    @property
    def retries(self) -> int:
        if self.result is not None:
            return self.result.retries
        return max(0, len(self.failed_attempts) - 1)

    @property
    def changed_retries(self) -> int:
        if self.result is not None:
            return self.result.changed_retries
        return changed_retries(self.failed_attempts)


def changed_retries(attempts: Sequence[Attempt]) -> int:
    """The retries whose answer differs from the previous attempt's (as JSON values
    where both parse, so spacing does not count): a retry that writes the same value
    again only spent its tokens."""
    answers = [_as_value(a.raw) for a in attempts]
    return sum(1 for before, after in pairwise(answers) if before != after)


def _as_value(raw: str) -> Any:
    try:
        return ("json", json.loads(raw))
    except ValueError:
        return ("text", raw)
