"""What an extraction tells the world as it goes: log records, and the events handed to
``on_attempt`` / ``on_result`` hooks (for users who want neither logging nor tracing).

At INFO nothing of the document or the answer is logged (a validation error quotes
the values it rejects): only counts, kinds of problem, models and token figures. The
errors themselves are at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._result import Attempt, Result, Usage

log = logging.getLogger("extract")


@dataclass(frozen=True)
class AttemptEvent:
    """One model answer inside an extraction (``on_attempt``): the ``attempt`` (raw
    output, errors, usage, seconds), its ``number`` (1 for the first), the ``model``
    and ``target`` names, and whether the loop asks again after it (``retrying``)."""

    model: str
    target: str
    number: int
    attempt: Attempt
    retrying: bool

    @property
    def problem(self) -> str | None:
        """What was wrong with it, in a word; None for a valid answer."""
        return problem_kind(self.attempt)


@dataclass(frozen=True)
class ResultEvent:
    """One extraction's end (``on_result``): its ``result``, or the ``error`` it
    raised (then ``result`` is None); ``usage`` spent and ``seconds`` taken."""

    model: str
    target: str
    result: Result[Any] | None
    error: BaseException | None
    usage: Usage
    seconds: float


def problem_kind(attempt: Attempt) -> str | None:
    if attempt.ok:
        return None
    if attempt.problem is not None:
        return attempt.problem
    if attempt.refused:
        return "refused"
    return "truncated" if attempt.truncated else "invalid"


def told_attempt(
    hook: Callable[[AttemptEvent], None] | None,
    model: str,
    target: str,
    number: int,
    attempt: Attempt,
    retrying: bool,
) -> None:
    """Logs one attempt and hands it to ``hook``."""
    kind = problem_kind(attempt)
    tokens = f"{attempt.usage.prompt_tokens}+{attempt.usage.completion_tokens} tokens"
    if kind is None:
        log.debug("%s on %s: attempt %d valid (%s)", target, model, number, tokens)
    else:
        then = "retrying" if retrying else "giving up"
        log.info(
            "%s on %s: attempt %d rejected (%s, %d error(s), %s); %s",
            target, model, number, kind, len(attempt.errors), tokens, then,
        )  # fmt: skip
        log.debug("%s on %s: attempt %d errors: %s", target, model, number, attempt.errors)
    if hook is not None:
        hook(AttemptEvent(model, target, number, attempt, retrying))
