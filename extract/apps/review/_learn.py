"""The review page on a ``Loop`` (``extract review --learn``): suggestions made as pages
open, from the loop's best systems so far, and what the page says about them."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from extract.apps.evaluation._score import Counts
from extract.core._errors import ExtractError

if TYPE_CHECKING:
    from extract.apps.loop import Loop
    from extract.core._result import Result

    from ._load import Item
    from ._store import Store


class Review(Protocol):
    """What of the review this reads and updates (the page's ``_app.Review``)."""

    items: list[Item]
    predicted: list[Any]
    store: Store

    def normalised(self, value: Any) -> Any: ...


LOOKAHEAD = 4  # least sure first: the least sure of the next few documents


class Learned:
    def __init__(self, review: Review, loop: Loop) -> None:
        self.review = review
        self.loop = loop
        # position -> (the loop's generation it was made in, the suggestion, its sureness)
        self._made: dict[int, tuple[Any, Result[Any] | None, float]] = {}
        self._lock = threading.Lock()

    def suggest(self, position: int) -> None:
        """The loop's suggestion for the document at ``position`` as the form's start,
        unless it is answered or the loop has learned nothing since the last one."""
        from extract.apps.loop import sureness

        review = self.review
        item = review.items[position]
        if review.store.state(item.id).answer in ("accept", "correct"):
            return
        generation = self.loop.generation()
        with self._lock:
            made = self._made.get(position)
            if made is not None and made[0] == generation:
                return
            try:
                result: Result[Any] | None = self.loop.suggest(item.text, item.id)
                error = None
            except ExtractError as exc:
                result, error = None, f"{type(exc).__name__}: {exc}"
            value = None if result is None else self.loop.as_json(result.value)
            review.items[position] = replace(
                item,
                value=value,
                spans={} if result is None else dict(result.spans),
                confidence={} if result is None else dict(result.confidence),
                error=error,
            )
            review.predicted[position] = review.normalised(value)
            sure = 0.0 if result is None else sureness(result)
            self._made[position] = (generation, result, sure)

    def least_sure(self, positions: list[int]) -> int:
        """Of the next few open ``positions``, the one whose suggestion is least sure."""
        few = positions[:LOOKAHEAD]
        for position in few:
            self.suggest(position)
        return min(few, key=lambda p: self._made[p][2] if p in self._made else 1.0)

    def notes(self, position: int) -> list[tuple[str, bool]]:
        """Which systems made this suggestion, and how each scores so far."""
        out: list[tuple[str, bool]] = []
        made = self._made.get(position)
        if made is not None and made[1] is not None:
            parts = ", ".join(
                f"{unit or 'the record'} by {system}" for unit, system in made[1].systems.items()
            )
            out.append((f"Suggested by the loop: {parts}.", False))
        report = self.loop.report()
        scores = []
        for system, units in sorted(report.evidence.items()):
            total = Counts()
            documents = 0
            for n, counts in units.values():
                total.add(counts)
                documents = max(documents, n)
            name = "the suggestions" if system == "loop" else system
            scores.append(f"{name} {total.f1:.2f} ({documents} document{'s' * (documents != 1)})")
        student = (
            f"the student learned from {report.student_answers} answers"
            if report.student
            else "no student yet"
        )
        training = "; retraining now" if report.training else ""
        scored = f" F1 so far: {', '.join(scores)}." if scores else ""
        answers = f"{report.answers} answer{'s' * (report.answers != 1)}"
        out.append((f"Learning from {answers}; {student}{training}.{scored}", False))
        return out
