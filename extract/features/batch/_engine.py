"""Many documents through one runner: every input comes out once, as a value or an
error.

A ``Batch`` holds what one run shares (the compiled target, options, cache, rate
limit) and turns one ``Document`` into one ``Outcome``; ``_pools`` runs it over many
documents on threads or tasks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from extract.backends import Backend
from extract.core._errors import ExtractError, InputError
from extract.core._loop import Options
from extract.core._result import Result, Usage
from extract.core._runner import Job, Runner
from extract.features.documents import Document as Loaded
from extract.schemas import CompiledSchema, Invalid

from ._cache import ResultCache, cache_key, default_cache_path
from ._frames import TextRow, text_rows
from ._ratelimit import LimitedBackend, RateLimit

log = logging.getLogger(__name__)

Order = Literal["input", "completed"]
T = TypeVar("T")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    # The loaded file the text came from (``extract.load``), whose map places spans.
    source: Loaded | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One input's fate: ``result`` when a value came out, else ``error_type`` (the
    exception's class name, e.g. ``"InputError"``) and ``message`` say why."""

    id: str
    result: Result[T] | None = None
    error_type: str | None = None
    message: str | None = None
    cached: bool = False
    seconds: float = 0.0
    # Where each span stands in the source file: pointer -> {"boxes": [[page, x0, y0,
    # x1, y1], ...], "elements": [...]} (a PDF, scan, HTML page, e-mail or Word file).
    locations: dict[str, dict[str, list[Any]]] | None = None
    # What a failed document spent before it failed (the error's usage).
    spent: Usage | None = None

    @classmethod
    def failed(
        cls, ident: str, error_type: str, message: str, seconds: float = 0.0
    ) -> Outcome[Any]:
        return Outcome(ident, error_type=error_type, message=message, seconds=seconds)

    @classmethod
    def of_exception(cls, ident: str, exc: BaseException, seconds: float = 0.0) -> Outcome[Any]:
        message = str(exc).strip() or repr(exc)
        spent = getattr(exc, "usage", None)
        spent = spent if isinstance(spent, Usage) and spent.total_tokens else None
        return Outcome(
            ident, error_type=type(exc).__name__, message=message, seconds=seconds, spent=spent
        )

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def value(self) -> T | None:
        return self.result.value if self.result is not None else None

    @property
    def usage(self) -> Usage:
        """Tokens spent on this document (and their cost where known), failed or not."""
        if self.result is not None:
            return self.result.usage
        return self.spent or Usage()

    @property
    def error(self) -> str | None:
        """``"Type: message"``, as the JSON lines write it; None for a value."""
        return None if self.error_type is None else f"{self.error_type}: {self.message}"


def jsonable(value: Any, target: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(target, dict):
        return value
    return TypeAdapter(target).dump_python(value, mode="json")


def outcome_line(outcome: Outcome[Any], target: Any) -> dict[str, Any]:
    """The JSON line for one outcome: the input id and the value or the error."""
    if outcome.result is None:
        spent = {"usage": usage_fields(outcome.spent)} if outcome.spent else {}
        return {"id": outcome.id, "error": outcome.error, **spent}
    result = outcome.result
    return {
        "id": outcome.id,
        "value": jsonable(result.value, target),
        "attempts": len(result.attempts),
        "usage": usage_fields(result.usage),
        "model": result.model,
        "cached": outcome.cached,
        **({"spans": {p: list(s) for p, s in result.spans.items()}} if result.spans else {}),
        **({"confidence": result.confidence} if result.confidence else {}),
        **({"abstained": list(result.abstained)} if result.abstained else {}),
        **({"uncertain": list(result.uncertain)} if result.uncertain else {}),
        **({"retries": result.retries} if result.candidates else {}),
        **({"fallback": result.fallback} if result.fallback else {}),
        **({"locations": outcome.locations} if outcome.locations else {}),
    }


def usage_fields(usage: Usage) -> dict[str, Any]:
    """A JSON line's ``usage``: tokens, and ``cost`` (US$) where it is known."""
    fields: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }
    if usage.cost is not None:
        fields["cost"] = usage.cost
    return fields


def locations(source: Loaded | None, result: Result[Any]) -> dict[str, dict[str, list[Any]]] | None:
    """Each span's place in the file the text was loaded from (see ``Outcome``)."""
    if source is None or source.kind == "text" or not result.spans:
        return None
    out: dict[str, dict[str, list[Any]]] = {}
    for pointer, span in result.spans.items():
        try:
            where = source.locate(span)
        except ExtractError:  # a span past the text: nothing to place
            continue
        boxes = [[b.page, round(b.x0, 2), round(b.y0, 2), round(b.x1, 2), round(b.y1, 2)]
                 for b in where.boxes]  # fmt: skip
        out[pointer] = {"boxes": boxes, "elements": list(where.elements)}
    return out or None


def documents(inputs: Iterable[Any], kind: str = "UsageError") -> Iterator[Document | Outcome[Any]]:
    """Inputs as documents: a str (its id is its position), an ``(id, text)`` pair, a
    mapping with ``id`` and ``text``, or a loaded ``extract.Document`` (its id is its
    name; a text may be one too). A malformed or repeated input becomes a failed
    outcome (error type ``kind``), so it is reported instead of stopping the run; a
    mapping's ``where`` names a repeat's outcome instead of the id it repeats. Outcomes
    among the inputs pass through.

    A table (a pandas or polars DataFrame, a ``datasets.Dataset``, a ``pyarrow.Table``)
    gives a document per row of its ``text`` column, with its ``id`` column or the
    row's position as the id; a row without a text string is an ``InputError``
    outcome. A table without a ``text`` column is a ``UsageError``, raised here."""
    rows = text_rows(inputs)
    if rows is not None:
        return _documents(_table_records(rows), InputError.__name__)
    return _documents(inputs, kind)


def _table_records(rows: Iterable[TextRow]) -> Iterator[dict[str, Any] | Outcome[Any]]:
    for row in rows:
        if row.problem is not None:
            yield Outcome.failed(row.id, InputError.__name__, row.problem)
        else:
            yield {"id": row.id, "text": row.text, "where": row.where}


def _documents(inputs: Iterable[Any], kind: str) -> Iterator[Document | Outcome[Any]]:
    seen: dict[str, str] = {}  # id -> where it was first given
    for position, item in enumerate(inputs):
        if isinstance(item, Outcome):
            yield item
            continue
        ident, where = str(position), None
        text: Any = None
        if isinstance(item, str):
            text = item
        elif isinstance(item, tuple) and len(item) == 2:
            ident, text = str(item[0]), item[1]
        elif isinstance(item, Document):
            ident, text = item.id, item.text
        elif isinstance(item, Mapping):
            ident, text, where = str(item.get("id", position)), item.get("text"), item.get("where")
        elif isinstance(item, Loaded):
            ident, text = item.name or str(position), item
        source = text if isinstance(text, Loaded) else None
        if isinstance(item, Mapping) and isinstance(item.get("source"), Loaded):
            source = item["source"]
        if isinstance(text, Loaded):
            text = text.text  # outcomes' spans are offsets into document.text
        place = str(where) if where is not None else f"input {position}"
        if ident in seen:
            message = f"{place} repeats the id {ident!r} of {seen[ident]}"
            yield Outcome.failed(place if where is not None else ident, kind, message)
            continue
        seen[ident] = place
        if not isinstance(text, str):
            found = type(text).__name__ if text is not None else type(item).__name__
            yield Outcome.failed(ident, kind, f"{place} has no text ({found})")
            continue
        yield Document(ident, text, source)


def open_cache(cache: bool | str | Path | ResultCache | None) -> ResultCache | None:
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResultCache):
        return cache
    return ResultCache(default_cache_path() if cache is True else cache)


class Batch:
    """What one ``run_many`` call shares: the runner, the compiled target, options,
    cache and rate limit. Each document runs on the runner (``extract.core._runner``)."""

    def __init__(
        self,
        runner: Runner,
        target: Any,
        compiled: CompiledSchema,
        options: Options,
        cache: ResultCache | None,
        limit: RateLimit | None,
        owns_cache: bool = False,  # opened for this batch: closed with it
    ) -> None:
        self.name = runner.name  # as given: it keys the cache
        # Every request (retries too) waits for the limit, not just each document.
        self.runner = runner if limit is None else runner.limited(_limiting(limit))
        self.target = target
        self.compiled = compiled
        self.options = options
        self.cache = cache
        self.owns_cache = owns_cache

    def workers(self, requested: int | None) -> int:
        """Documents at once: as requested, capped by what the runner serves."""
        return self.runner.concurrency(requested)

    def close(self) -> None:
        if self.owns_cache and self.cache is not None:
            self.cache.close()

    def closing(self, outcomes: Iterator[Outcome[Any]]) -> Iterator[Outcome[Any]]:
        """``outcomes``, then the cache closed if this batch opened it."""
        try:
            yield from outcomes
        finally:
            self.close()

    def key(self, doc: Document) -> str:
        return cache_key(self.name, self.compiled.key, self.target, self.options, doc.text)

    def cached(self, doc: Document) -> Outcome[Any] | None:
        if self.cache is None:
            return None
        record = self.cache.get(self.key(doc))
        if not isinstance(record, dict) or "value" not in record:
            return None  # a miss, or a row this version did not write
        value = self.compiled.validate(json.dumps(record["value"]))
        if isinstance(value, Invalid):
            return None  # the schema's validators changed since: extract again
        result: Result[Any] = Result(
            value=value,
            raw=record.get("raw", ""),
            attempts=[],
            usage=Usage(),  # nothing spent this time
            report=self.compiled.report,
            timings={},
            model=str(record.get("model", "")),
        )
        log.debug("%s: from the result cache", doc.id)
        return Outcome(doc.id, result=result, cached=True)

    def store(self, doc: Document, result: Result[Any]) -> None:
        if self.cache is not None:
            record = {
                "value": jsonable(result.value, self.target),
                "raw": result.raw,
                "model": result.model,
            }
            self.cache.put(self.key(doc), record)

    def _job(self, doc: Document) -> Job:
        return Job(self.target, self.compiled, doc.text, self.options)

    def run(self, doc: Document) -> Outcome[Any]:
        """One document, sync; never raises for a document's own failure."""
        started = time.perf_counter()
        try:
            if (hit := self.cached(doc)) is not None:
                return hit
            result = self.runner.run(self._job(doc))
            self.store(doc, result)
        except Exception as exc:  # one bad document never stops the run
            return Outcome.of_exception(doc.id, exc, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        return Outcome(doc.id, result, seconds=seconds, locations=locations(doc.source, result))

    async def arun(self, doc: Document) -> Outcome[Any]:
        started = time.perf_counter()
        try:
            if (hit := self.cached(doc)) is not None:
                return hit
            result = await self.runner.arun(self._job(doc))
            self.store(doc, result)
        except Exception as exc:
            return Outcome.of_exception(doc.id, exc, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        return Outcome(doc.id, result, seconds=seconds, locations=locations(doc.source, result))


def _limiting(limit: RateLimit) -> Callable[[Backend], Backend]:
    def wrap(backend: Backend) -> Backend:
        return LimitedBackend(backend, limit)

    return wrap
