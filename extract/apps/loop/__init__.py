"""The loop that learns while a person reviews.

``Loop(Model, teacher=extract.Extractor(), path="loop/")`` keeps everything in one
folder: the answers (``loop.sqlite``), the student (``students/``, named by
``student.json``) and the log of its trainings (``train.log``)::

    loop = extract.Loop(Entities, teacher=extract.Extractor(), path="loop/")
    r = loop.suggest(text)            # r.system: which system(s) made it
    loop.answer("doc-1", text, value) # the reviewed record (spans found by alignment)
    loop.train(wait=True)             # also started in the background every N answers
    print(loop.report().render())     # each system's F1 on the answered documents

Systems: ``teacher`` (the extractor as given), ``nearest`` (the teacher with the ``k``
answered records most like the document as examples, ``extract.Nearest``), ``student``
(a spaCy model trained on the answers, ``extract.distill``) and ``vote`` (the others'
answers voted leaf by leaf, ``extract.features.ensemble.vote``: a value most of them
give). Each suggestion runs every available system, and each top-level
field comes from the system that has scored best on it over the answered documents
(``_choose``): their suggestions are scored when their document is answered, so every
score is on held-out gold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from extract.apps.evaluation._dataset import Dataset
from extract.apps.evaluation._score import Scorer
from extract.core._errors import ExtractError, UsageError
from extract.core._nearest import Nearest
from extract.core._options import compile_target
from extract.core._result import Candidate, Result
from extract.features.documents import Document, Text
from extract.features.ensemble import Ballot, vote
from extract.schemas import Invalid

from . import _train
from ._choose import agreement, choose, compose, unit_counts, unit_of, units_of
from ._report import LoopReport
from ._store import Store

__all__ = ["Loop", "LoopReport", "Suggested", "sureness"]

log = logging.getLogger("extract.loop")
SYSTEMS = ("teacher", "nearest", "student", "vote")
VOTERS = ("student", "nearest", "teacher")  # the systems a vote is taken among
ORDERS = ("input", "uncertain")


@dataclass(frozen=True)
class Suggested:
    """A queued document and the loop's suggestion for it (``Loop.next``)."""

    id: str
    text: str
    result: Result[Any] | None  # None when every system failed on it
    error: str | None = None
    sureness: float = 0.0  # what ``order="uncertain"`` sorted by


class Loop:
    """Suggest, answer, train: a student that learns while a person reviews.

    ``teacher``: an ``Extractor`` (or anything with its ``run``); None loads the embedded
    model. ``k``: nearest examples per document. ``retrain_every``: answers between
    background retrainings (0: only ``train()``), from ``min_answers`` on. ``window``:
    each system is judged on its last ``window`` answered documents; ``min_documents``:
    fewer scored documents than this and a system is not chosen over one with more.
    ``systems``: which of teacher, nearest, student, vote to run (a vote needs two of
    the others). ``warm_start``: each retraining starts from the current student
    (``distill(warm_from=)``). Other keyword options go to every teacher call
    (``min_confidence=``, ``max_retries=``...).
    """

    def __init__(
        self,
        target: Any,
        teacher: Any = None,
        path: str | os.PathLike[str] = "loop",
        *,
        k: int = 3,
        retrain_every: int = 20,
        min_answers: int = 10,
        window: int = 50,
        min_documents: int = 5,
        systems: Sequence[str] = SYSTEMS,
        lang: str = "en",
        max_epochs: int = 30,
        warm_start: bool = True,
        **options: Any,
    ) -> None:
        unknown = [s for s in systems if s not in SYSTEMS]
        if unknown or not systems:
            raise UsageError(f"systems are some of {', '.join(SYSTEMS)}, not {list(systems)}")
        if "examples" in options:
            raise UsageError("the loop picks its examples itself (nearest answered records)")
        for name, number in (("retrain_every", retrain_every), ("min_answers", min_answers),
                             ("window", window), ("min_documents", min_documents)):  # fmt: skip
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise UsageError(f"{name} must be an int >= 0, not {number!r}")
        self.target = target
        self.compiled = compile_target(target)
        self.schema: dict[str, Any] = dict(self.compiled.json_schema)
        self.units = units_of(self.schema)
        self.scorer = Scorer(self.schema)
        self._json = Dataset(target, [])  # its as_json: one adapter, not one per call
        self.nearest_k = Nearest([], k).k  # checks k
        self.retrain_every, self.min_answers = retrain_every, min_answers
        self.window, self.min_documents = window, min_documents
        self.systems = tuple(systems)
        self.options = options
        if teacher is None and ("teacher" in systems or "nearest" in systems):
            from extract.api._extractor import default_extractor

            teacher = default_extractor()
        self.teacher = teacher
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._settle_schema()
        settings = {"lang": lang, "max_epochs": max_epochs, "warm_start": bool(warm_start)}
        (self.path / _train.SETTINGS).write_text(json.dumps(settings), encoding="utf-8")
        self.store = Store(self.path / "loop.sqlite")
        self._student: tuple[_train.Student, Any] | None = None
        self._student_lock = threading.Lock()
        self._train_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None
        self.training_error: str | None = None  # why the last training failed
        self._started_at = 0  # answers when the last training started
        self._failed_at = 0  # answers when the last failed training started

    def __repr__(self) -> str:
        return f"Loop({self.path}, {self.store.answer_count()} answers)"

    def __enter__(self) -> Loop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the state file; a training still running finishes on its own."""
        self.store.close()

    # -- suggestions --------------------------------------------------------

    @property
    def student(self) -> Any:
        """The current student (an ``Extractor``), or None before the first training."""
        self._refresh_student()
        return None if self._student is None else self._student[1]

    def available(self) -> list[str]:
        """The systems a suggestion runs now, in the order ties are broken."""
        out = []
        if "student" in self.systems and self.student is not None:
            out.append("student")
        if "nearest" in self.systems and self.store.answer_count():
            out.append("nearest")
        if "teacher" in self.systems:
            out.append("teacher")
        if "vote" in self.systems and len(out) >= 2:
            out.append("vote")
        return out

    def suggest(self, text: Text, doc_id: str | None = None) -> Result[Any]:
        """The suggestion for ``text``: each top-level field from the system that has
        scored best on it so far (``r.system``, ``r.systems``), every system's answer in
        ``r.candidates``. Never waits for a training. Raises the teacher's error when no
        system gives a record."""
        if isinstance(text, Document):
            text = text.text  # r.spans are offsets into document.text
        if not isinstance(text, str):
            raise UsageError(
                f"suggest takes the document's text (a str or Document), not {type(text)}"
            )
        started = time.perf_counter()
        if doc_id is not None and self.store.answered(doc_id):
            log.info("suggesting for %s, which is answered already", doc_id)
        answers = self.store.answers()
        pool = [(a.text, a.value) for a in answers]
        results: dict[str, Result[Any] | Exception] = {}
        available = self.available()
        for system in available:
            if system != "vote":
                results[system] = self._run(system, text, pool)
        if "vote" in available:
            results["vote"] = self._vote(results)
        values = {s: self.as_json(r.value) for s, r in results.items() if isinstance(r, Result)}
        evidence = self.store.evidence(self.window)
        ok = [s for s in results if s in values] or list(results)
        chosen = choose(evidence, self.units, ok, min_documents=self.min_documents)
        suggestion = self._compose(results, values, chosen)
        self.store.keep_suggestions(
            _key(text),
            {**{s: values.get(s) for s in results}, "loop": self.as_json(suggestion.value)},
        )
        timings = {**suggestion.timings, "suggest": time.perf_counter() - started}
        return replace(suggestion, timings=timings)

    def _run(self, system: str, text: str, pool: list[tuple[str, Any]]) -> Result[Any] | Exception:
        try:
            if system == "student":
                return self.student.run(self.target, text)  # type: ignore[no-any-return]
            if system == "nearest":
                examples = Nearest(pool, self.nearest_k)
                return self.teacher.run(self.target, text, examples=examples, **self.options)  # type: ignore[no-any-return]
            return self.teacher.run(self.target, text, **self.options)  # type: ignore[no-any-return]
        except ExtractError as exc:
            log.info("%s gave no record: %s", system, exc)
            return exc

    def _vote(self, results: Mapping[str, Result[Any] | Exception]) -> Result[Any] | Exception:
        """The voters' answers voted leaf by leaf; each value's confidence is the share
        of the voters giving it (one that failed agrees with nothing)."""
        answered = [(s, r) for s, r in results.items() if s in VOTERS and isinstance(r, Result)]
        if len(answered) < 2:
            return ExtractError("a vote needs two answers")
        ballots = [Ballot(self.as_json(r.value), spans=r.spans) for _, r in answered]
        voted = vote(ballots, abstained=len(results) - len(answered))
        value = self.compiled.validate(json.dumps(voted.value))
        if isinstance(value, Invalid):
            return ExtractError(f"the voted value does not validate: {value.errors[0]}")
        spans: dict[str, tuple[int, int]] = {}
        for pointer, sources in voted.sources.items():
            for member, own in sources:
                span = answered[member][1].spans.get(own)
                if span is not None:
                    spans[pointer] = span
                    break
        return replace(
            answered[0][1],
            value=value,
            confidence=dict(voted.confidence),
            confidence_source="vote",
            spans=spans,
            uncertain=(),
            candidates=[],
        )

    def _compose(
        self,
        results: Mapping[str, Result[Any] | Exception],
        values: Mapping[str, Any],
        chosen: dict[str, str],
    ) -> Result[Any]:
        candidates = [
            Candidate(s, result=r) if isinstance(r, Result) else
            Candidate(s, error=f"{type(r).__name__}: {r}")
            for s, r in results.items()
        ]  # fmt: skip
        if not values:
            error = results.get("teacher") or next(iter(results.values()))
            assert isinstance(error, Exception)
            raise error
        composed = self.compiled.validate(json.dumps(compose(values, chosen)))
        if isinstance(composed, Invalid):  # a model validator across fields: keep one whole
            counts: dict[str, int] = {}
            for system in chosen.values():
                counts[system] = counts.get(system, 0) + (system in values)
            best = max(values, key=lambda s: counts.get(s, 0))
            chosen = dict.fromkeys(chosen, best)
            composed = results[best].value  # type: ignore[union-attr]
        used = [s for s in dict.fromkeys(chosen.values()) if isinstance(results.get(s), Result)]
        base = results[used[0]]
        assert isinstance(base, Result)
        confidence: dict[str, float] = {}
        spans: dict[str, tuple[int, int]] = {}
        uncertain: list[str] = []
        sources = set()
        for unit, system in chosen.items():
            answer = results[system]
            if not isinstance(answer, Result):
                continue
            confidence.update({p: c for p, c in answer.confidence.items() if _under(p, unit)})
            spans.update({p: s for p, s in answer.spans.items() if _under(p, unit)})
            uncertain += [p for p in answer.uncertain if _under(p, unit)]
            if answer.confidence_source:
                sources.add(answer.confidence_source)
        return replace(
            base,
            value=composed,
            confidence=confidence,
            confidence_source=", ".join(sorted(sources)) or None,
            spans=spans,
            uncertain=tuple(uncertain),
            candidates=candidates,
            system=", ".join(used),
            systems=chosen,
        )

    # -- answers --------------------------------------------------------------

    def answer(
        self,
        doc_id: str,
        text: Text,
        value: Any,
        spans: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        """Keep a reviewed record (a model instance or its JSON). ``spans`` (pointer ->
        (start, end) in ``text``) are optional: training finds values in the text.
        Scores the suggestions made for this text, then starts a retraining in the
        background when ``retrain_every`` answers have come since the last."""
        if isinstance(text, Document):
            text = text.text
        if not isinstance(doc_id, str) or not isinstance(text, str):
            raise UsageError("answer takes the document's id (a str) and text (a str or Document)")
        from pydantic_core import to_jsonable_python

        checked = self.compiled.validate(json.dumps(to_jsonable_python(value, by_alias=True)))
        if isinstance(checked, Invalid):
            raise UsageError(
                f"answer {doc_id!r} does not validate: {'; '.join(checked.errors[:5])}"
            )
        gold = self.as_json(checked)
        if spans is not None:
            for pointer, (start, end) in spans.items():
                if not (0 <= start <= end <= len(text)):
                    raise UsageError(
                        f"answer {doc_id!r}: span {pointer} {start, end} is not in the text"
                    )
        key = _key(text)
        scored = {
            system: unit_counts(self.scorer.score(suggested, gold), self.units)
            for system, suggested in self.store.suggestions(key).items()
        }
        self.store.answer(doc_id, text, gold, spans, scored)
        self.store.forget_suggestions(key)
        self._maybe_retrain()

    def forget(self, doc_id: str) -> bool:
        """Drop an answer (and the scores it gave), e.g. when a review is undone; the
        student keeps what it learned from it until the next training."""
        return self.store.forget(doc_id)

    def generation(self) -> tuple[int, int, str | None]:
        """Changes whenever a suggestion may: the answers kept, the student's folder."""
        info = _train.current(self.path)
        return (*self.store.version(), None if info is None else str(info.model))

    def _maybe_retrain(self) -> None:
        if not self.retrain_every or "student" not in self.systems:
            return
        answers = self.store.answer_count()
        info = _train.current(self.path)
        # A failed training is tried again after as many answers, not after each one.
        tried = max(0 if info is None else info.answers, self._failed_at)
        if answers >= max(self.min_answers, 2) and answers - tried >= self.retrain_every:
            self.train(wait=False)

    # -- training -------------------------------------------------------------

    @property
    def training(self) -> bool:
        """A training started by this loop is running (or its end is being taken in)."""
        watcher = self._watcher
        return watcher is not None and watcher.is_alive()

    def train(self, wait: bool = True) -> _train.Student | None:
        """Retrain the student on every answer so far, in a process of its own; with
        ``wait`` block until a student trained on all of them is in place, and raise
        ``UsageError`` if its training failed. One training at a time: while one runs,
        ``wait=False`` leaves it be, and ``wait=True`` waits for it, then trains again
        if answers came after it started or it failed. Returns the student."""
        with self._train_lock:
            joined = self.training
            if not joined:
                if self.store.answer_count() < 2:
                    raise UsageError("training needs at least 2 answers")
                self.training_error = None
                self._started_at = self.store.answer_count()
                self._process = _train.start(self.path)
                self._watcher = threading.Thread(
                    target=self._watch, args=(self._process,), name="extract-loop-train",
                    daemon=True,
                )  # fmt: skip
                self._watcher.start()
            watcher = self._watcher
        if wait and watcher is not None:
            watcher.join()
            behind = self._started_at < self.store.answer_count()
            if joined and (behind or self.training_error is not None):
                return self.train(wait=True)  # that one was older: now one on every answer
            if self.training_error is not None:
                raise UsageError(self.training_error)
        self._refresh_student()
        return None if self._student is None else self._student[0]

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        status = process.wait()
        if status == 0:
            self._refresh_student()  # loaded here, so that suggest does not wait for it
        elif status != _train.BUSY:
            tail = _tail(self.path / "train.log")
            error = f"training failed (exit status {status}); train.log ends:\n{tail}"
            log.warning("%s", error)
            with self._train_lock:
                self._failed_at = max(self._failed_at, self._started_at)
                if process is self._process:  # not a training that a newer one replaced
                    self.training_error = error

    def _refresh_student(self) -> None:
        info = _train.current(self.path)
        if info is None or (self._student is not None and self._student[0] == info):
            return
        with self._student_lock:
            if self._student is not None and self._student[0] == info:
                return
            from extract.api._extractor import Extractor

            self._student = (info, Extractor(f"spacy:{info.model}"))

    # -- the queue ------------------------------------------------------------

    def add(self, documents: Iterable[tuple[str, str] | Mapping[str, Any]]) -> int:
        """Queue documents for review, ``(id, text)`` pairs or ``{"id", "text"}``;
        returns how many were new (an id queued before keeps its place)."""
        rows = []
        for position, item in enumerate(documents):
            ident, text = (item.get("id"), item.get("text")) if isinstance(item, Mapping) else item
            if not isinstance(ident, str) or not isinstance(text, str):
                raise UsageError(f"document {position}: expected an id and a text, both str")
            rows.append((ident, text))
        return self.store.enqueue(rows)

    def next(self, order: str = "input", lookahead: int = 4) -> Suggested | None:
        """The next queued document not answered yet, with its suggestion; None when
        all are answered. ``order="uncertain"`` suggests for the next ``lookahead``
        and hands out the one the loop is least sure of (lowest value confidence, else
        the least agreement between systems)."""
        if order not in ORDERS:
            raise UsageError(f"order is one of {', '.join(ORDERS)}, not {order!r}")
        pending = self.store.pending(lookahead if order == "uncertain" else 1)
        out: list[Suggested] = []
        for ident, text in pending:
            try:
                result = self.suggest(text, ident)
            except ExtractError as exc:
                out.append(Suggested(ident, text, None, f"{type(exc).__name__}: {exc}"))
                continue
            out.append(Suggested(ident, text, result, sureness=sureness(result)))
        if not out:
            return None
        return min(out, key=lambda s: s.sureness) if order == "uncertain" else out[0]

    def report(self) -> LoopReport:
        evidence = self.store.evidence(self.window)
        available = self.available()
        queued, _ = self.store.queued()
        info = _train.current(self.path)
        return LoopReport(
            answers=self.store.answer_count(),
            queued=queued,
            student=None if info is None else str(info.model),
            student_answers=0 if info is None else info.answers,
            training=self.training,
            window=self.window,
            evidence=evidence,
            chosen=choose(evidence, self.units, available, min_documents=self.min_documents),
        )

    # -- helpers ----------------------------------------------------------------

    def as_json(self, value: Any) -> Any:
        """A value of the target as JSON, fields by alias (how answers are kept)."""
        return self._json.as_json(value)

    def _settle_schema(self) -> None:
        """The folder keeps the schema it was made for: another target is refused."""
        path = self.path / "schema.json"
        text = json.dumps(self.schema, sort_keys=True, ensure_ascii=False)
        if path.exists():
            if json.loads(path.read_text(encoding="utf-8")) != json.loads(text):
                raise UsageError(
                    f"{self.path} holds a loop for another schema; give this one its own path"
                )
            return
        scratch = path.with_suffix(f".{os.getpid()}")
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, path)


def sureness(result: Result[Any]) -> float:
    """How sure a suggestion is: its lowest value confidence, else the share of fields
    every system agreed on."""
    if result.confidence:
        return min(result.confidence.values())
    values = {c.member: c.value for c in result.candidates if c.result is not None}
    from pydantic_core import to_jsonable_python

    return agreement(to_jsonable_python(values, by_alias=True), result.systems)


def _under(pointer: str, unit: str) -> bool:
    return unit_of(pointer, [unit]) == unit


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
