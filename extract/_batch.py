"""Many documents through one extractor: every input comes out once, as a value or an
error, in input order or as completed.

A local model has one llama context, so documents go through it one at a time (worker
processes, one model each, are the CLI's ``--workers``); a hosted backend takes
``concurrency`` requests at once, under an optional requests/tokens-per-minute limit.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from backends import Backend
from schemas import CompiledSchema, Invalid

from ._cache import ResultCache, cache_key, default_cache_path
from ._errors import UsageError
from ._loop import Options, arun_extraction, run_extraction
from ._ratelimit import LimitedBackend, RateLimit
from ._result import Result, Usage

Order = Literal["input", "completed"]


@dataclass(frozen=True)
class Document:
    id: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """One input's fate: ``result`` when a value came out, else ``error`` says why."""

    id: str
    result: Result[Any] | None = None
    error: str | None = None  # "ExtractionError: ..." - the type, then the message
    cached: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def value(self) -> Any:
        return self.result.value if self.result is not None else None

    @property
    def error_type(self) -> str | None:
        return self.error.split(":", 1)[0] if self.error else None


def jsonable(value: Any, target: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(target, dict):
        return value
    return TypeAdapter(target).dump_python(value, mode="json")


def outcome_line(outcome: Outcome, target: Any) -> dict[str, Any]:
    """The JSON line for one outcome: the input id and the value or the error."""
    if outcome.result is None:
        return {"id": outcome.id, "error": outcome.error}
    result = outcome.result
    return {
        "id": outcome.id,
        "value": jsonable(result.value, target),
        "attempts": len(result.attempts),
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
        },
        "model": result.model,
        "cached": outcome.cached,
    }


def documents(inputs: Iterable[Any], kind: str = "UsageError") -> Iterator[Document | Outcome]:
    """Inputs as documents: a str (its id is its position), an ``(id, text)`` pair, or a
    mapping with ``id`` and ``text``. A malformed or repeated input becomes a failed
    outcome (error type ``kind``), so it is reported instead of stopping the run; a
    mapping's ``where`` names a repeat's outcome instead of the id it repeats. Outcomes
    among the inputs pass through."""
    seen: set[str] = set()
    for position, item in enumerate(inputs):
        if isinstance(item, Outcome):
            yield item
            continue
        ident, text, where = str(position), None, None
        if isinstance(item, str):
            text = item
        elif isinstance(item, tuple) and len(item) == 2:
            ident, text = str(item[0]), item[1]
        elif isinstance(item, Document):
            ident, text = item.id, item.text
        elif isinstance(item, Mapping):
            ident, text, where = str(item.get("id", position)), item.get("text"), item.get("where")
        if ident in seen:
            message = f"{kind}: input {position} repeats the id {ident!r}"
            yield Outcome(where or ident, error=message)
            continue
        seen.add(ident)
        if not isinstance(text, str):
            found = type(text).__name__ if text is not None else type(item).__name__
            yield Outcome(ident, error=f"{kind}: input {position} has no text ({found})")
            continue
        yield Document(ident, text)


@dataclass
class Tally:
    """Running totals for progress and the final summary."""

    total: int | None = None
    done: int = 0
    failed: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    started: float = field(default_factory=time.perf_counter)

    def add(self, line: Mapping[str, Any]) -> None:
        """Counts one output line (see ``outcome_line``)."""
        self.done += 1
        if "error" in line:
            self.failed += 1
            self.reasons[str(line["error"]).split(":", 1)[0]] += 1
            return
        self.cached += bool(line.get("cached"))
        usage = line.get("usage") or {}
        self.prompt_tokens += int(usage.get("prompt_tokens", 0))
        self.completion_tokens += int(usage.get("completion_tokens", 0))
        self.retries += max(0, int(line.get("attempts", 1)) - 1)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        failed = ", ".join(f"{n} {kind}" for kind, n in self.reasons.most_common())
        return (
            f"{self.done - self.failed} extracted ({self.cached} from the cache), "
            f"{self.failed} failed{f' ({failed})' if failed else ''}; "
            f"{self.prompt_tokens + self.completion_tokens} tokens, {self.retries} retries, "
            f"{self.seconds:.1f} s"
        )


def open_cache(cache: bool | str | Path | ResultCache | None) -> ResultCache | None:
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResultCache):
        return cache
    return ResultCache(default_cache_path() if cache is True else cache)


def concurrency_for(backend: Backend, requested: int | None) -> int:
    """Workers for a batch: as requested (8 by default), capped by what the backend serves."""
    if requested is not None and (not isinstance(requested, int) or requested < 1):
        raise UsageError("concurrency must be an int >= 1")
    wanted = requested or 8
    most = backend.capabilities.max_concurrency
    return wanted if most is None else min(wanted, most)


class Batch:
    """What one ``run_many`` call shares: the compiled target, options, cache, limits."""

    def __init__(
        self,
        backend: Backend,
        target: Any,
        compiled: CompiledSchema,
        options: Options,
        cache: ResultCache | None,
        limit: RateLimit | None,
        owns_cache: bool = False,  # opened for this batch: closed with it
    ) -> None:
        self.source = backend  # as given: its name keys the cache
        self.target = target
        self.compiled = compiled
        self.options = options
        self.cache = cache
        # Every request (retries too) waits for the limit, not just each document.
        self.backend: Backend = backend if limit is None else LimitedBackend(backend, limit)
        self.owns_cache = owns_cache

    def close(self) -> None:
        if self.owns_cache and self.cache is not None:
            self.cache.close()

    def closing(self, outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
        """``outcomes``, then the cache closed if this batch opened it."""
        try:
            yield from outcomes
        finally:
            self.close()

    def key(self, doc: Document) -> str:
        backend = self.source
        return cache_key(backend.name, self.compiled.key, self.target, self.options, doc.text)

    def cached(self, doc: Document) -> Outcome | None:
        if self.cache is None:
            return None
        record = self.cache.get(self.key(doc))
        if record is None:
            return None
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
        return Outcome(doc.id, result=result, cached=True)

    def store(self, doc: Document, result: Result[Any]) -> None:
        if self.cache is not None:
            record = {
                "value": jsonable(result.value, self.target),
                "raw": result.raw,
                "model": result.model,
            }
            self.cache.put(self.key(doc), record)

    def run(self, doc: Document) -> Outcome:
        """One document, sync; never raises for a document's own failure."""
        if (hit := self.cached(doc)) is not None:
            return hit
        started = time.perf_counter()
        try:
            result = run_extraction(
                self.backend, self.target, self.compiled, doc.text, self.options
            )
        except Exception as exc:  # one bad document never stops the run
            return Outcome(doc.id, error=_describe(exc), seconds=time.perf_counter() - started)
        return self._finished(doc, result, started)

    async def arun(self, doc: Document) -> Outcome:
        if (hit := self.cached(doc)) is not None:
            return hit
        started = time.perf_counter()
        try:
            result = await arun_extraction(
                self.backend, self.target, self.compiled, doc.text, self.options
            )
        except Exception as exc:
            return Outcome(doc.id, error=_describe(exc), seconds=time.perf_counter() - started)
        return self._finished(doc, result, started)

    def _finished(self, doc: Document, result: Result[Any], started: float) -> Outcome:
        self.store(doc, result)
        return Outcome(doc.id, result=result, seconds=time.perf_counter() - started)


def _describe(exc: BaseException) -> str:
    message = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {message}"


def run_threads(
    items: Iterable[Document | Outcome],
    work: Callable[[Document], Outcome],
    concurrency: int,
    order: Order,
) -> Iterator[Outcome]:
    """``work`` over the documents on ``concurrency`` threads, yielded in input order or
    as completed. Failed inputs pass through."""
    if concurrency <= 1:
        for item in items:
            yield item if isinstance(item, Outcome) else work(item)
        return
    with ThreadPoolExecutor(concurrency, thread_name_prefix="extract") as pool:
        yield from in_pool(
            items, lambda d: pool.submit(work, d), lambda o: o, 2 * concurrency, order
        )


R = TypeVar("R")


def in_pool(
    items: Iterable[Document | Outcome],
    submit: Callable[[Document], Future[R]],
    passed: Callable[[Outcome], R],
    window: int,
    order: Order,
) -> Iterator[R]:
    """Documents submitted to a pool, at most ``window`` ahead; results yielded in input
    order or as completed. Outcomes (failed inputs) pass through as ``passed(outcome)``.
    Closing the iterator cancels what has not started."""
    queue: collections.deque[Future[R]] = collections.deque()
    running: set[Future[R]] = set()
    try:
        for item in items:
            future: Future[R]
            if isinstance(item, Outcome):
                future = Future()
                future.set_result(passed(item))
            else:
                future = submit(item)
            if order == "input":
                queue.append(future)
                while len(queue) >= window or (queue and queue[0].done()):
                    yield queue.popleft().result()
            else:
                running.add(future)
                if len(running) >= window:
                    done, pending = wait(running, return_when=FIRST_COMPLETED)
                    running = set(pending)
                    yield from (f.result() for f in done)
        while queue:
            yield queue.popleft().result()
        while running:
            done, pending = wait(running, return_when=FIRST_COMPLETED)
            running = set(pending)
            yield from (f.result() for f in done)
    finally:
        for future in (*queue, *running):
            future.cancel()


async def run_tasks(
    items: Iterable[Document | Outcome],
    work: Callable[[Document], Any],
    concurrency: int,
    order: Order,
) -> AsyncIterator[Outcome]:
    """The async twin of ``run_threads``: ``concurrency`` coroutines at once."""
    window = max(1, concurrency)
    queue: collections.deque[asyncio.Future[Outcome]] = collections.deque()
    running: set[asyncio.Future[Outcome]] = set()
    loop = asyncio.get_running_loop()
    try:
        for item in items:
            future: asyncio.Future[Outcome]
            if isinstance(item, Outcome):
                future = loop.create_future()
                future.set_result(item)
            else:
                future = asyncio.ensure_future(work(item))
            if order == "input":
                queue.append(future)
                while len(queue) >= window or (queue and queue[0].done()):
                    yield await queue.popleft()
            else:
                running.add(future)
                if len(running) >= window:
                    done, running = await asyncio.wait(running, return_when=FIRST_COMPLETED)
                    for f in done:
                        yield f.result()
        while queue:
            yield await queue.popleft()
        while running:
            done, running = await asyncio.wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    finally:
        for f in (*queue, *running):
            f.cancel()
