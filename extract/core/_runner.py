"""The seam every verb is written over: a runner runs one compiled target on one text.

``extract.Extractor`` and ``extract.Ensemble`` (``extract.api``) hold a runner and write
``run``, ``stream``, ``iter_items``, ``run_many`` and their async forms once over it;
``run_many``'s batches and the evaluation harness run documents on it too. A
``BackendRunner`` is one backend's retry-and-repair loop; the ensemble's runner votes
the answers of its members' runners.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from extract.backends import Backend, Request
from extract.backends._tracing import provider_and_model, span
from extract.schemas import CompiledSchema

from ._abstain import abstain
from ._budget import Budget, Prices
from ._drive import adrive, drive
from ._errors import ContextWindowError, UsageError
from ._events import ResultEvent
from ._long import chunked_steps, size_for
from ._loop import Options, arun_extraction, run_extraction, type_name
from ._options import with_nearest
from ._result import Result, Usage

log = logging.getLogger("extract")

# Sees each request before it is sent (a stream attaches its listener there).
Prepare = Callable[[Request], Request]


@dataclass(frozen=True)
class Job:
    """One extraction: a compiled target, the text, and the options it runs with."""

    target: Any
    compiled: CompiledSchema
    text: str
    options: Options


class Runner(Protocol):
    """Runs jobs. ``name`` names results and keys caches; ``takes_back``: a streamed
    answer may be cut back (``iter_items`` then holds items that could be taken back);
    ``concurrency``: documents at once it serves; ``limited``: the same runner with
    every backend it calls wrapped (``run_many``'s rate limits)."""

    @property
    def name(self) -> str: ...

    @property
    def takes_back(self) -> bool: ...

    def concurrency(self, requested: int | None) -> int: ...

    def limited(self, wrap: Callable[[Backend], Backend]) -> Runner: ...

    def run(self, job: Job, prepare: Prepare | None = None) -> Result[Any]: ...

    async def arun(self, job: Job, prepare: Prepare | None = None) -> Result[Any]: ...


def finished(job: Job, result: Result[Any]) -> Result[Any]:
    """What every runner does last: the confidences calibrated (``calibration``, when
    fitted on the same source), then ``min_confidence`` applied (``_abstain``)."""
    calibration = job.options.calibration
    if (
        calibration is not None
        and result.confidence
        and result.confidence_source == calibration.source
    ):
        result = dataclasses.replace(
            result,
            confidence=calibration.apply(result.confidence),
            confidence_source=f"calibrated {calibration.source}",
        )
    threshold = job.options.min_confidence
    return result if threshold is None else abstain(result, job.compiled, threshold)


def concurrency_for(backend: Backend, requested: int | None) -> int:
    """Documents at once: as requested (8 by default), capped by what the backend serves."""
    if requested is not None and (
        isinstance(requested, bool) or not isinstance(requested, int) or requested < 1
    ):
        raise UsageError("concurrency must be an int >= 1")
    wanted = requested or 8
    most = backend.capabilities.max_concurrency
    return wanted if most is None else min(wanted, most)


def budgeted(options: Options) -> Options:
    """``options`` with the extraction's own budget, when ``max_total_tokens`` asks for
    one and none is attached yet (an ensemble's members and a document's chunks share
    the one their extraction attached)."""
    if options.max_total_tokens is None or any(b.scope == "extraction" for b in options.budgets):
        return options
    own = Budget(options.max_total_tokens, "extraction")
    return dataclasses.replace(options, budgets=(*options.budgets, own))


def observed(model: str, job: Job, run: Callable[[Job], Result[Any]]) -> Result[Any]:
    """``run(job)`` as one extraction: its budget attached, a span around it (when
    OpenTelemetry is installed), its end logged and told to ``on_result``."""
    job = dataclasses.replace(job, options=budgeted(job.options))
    with _extraction_span(model, job) as span:
        started = time.perf_counter()
        try:
            result = run(job)
        except Exception as exc:
            _ended(model, job, span, None, exc, time.perf_counter() - started)
            raise
        _ended(model, job, span, result, None, time.perf_counter() - started)
        return result


async def aobserved(
    model: str, job: Job, run: Callable[[Job], Awaitable[Result[Any]]]
) -> Result[Any]:
    """``observed`` with an async ``run``."""
    job = dataclasses.replace(job, options=budgeted(job.options))
    with _extraction_span(model, job) as span:
        started = time.perf_counter()
        try:
            result = await run(job)
        except Exception as exc:
            _ended(model, job, span, None, exc, time.perf_counter() - started)
            raise
        _ended(model, job, span, result, None, time.perf_counter() - started)
        return result


def _extraction_span(model: str, job: Job) -> AbstractContextManager[Any]:
    provider, name = provider_and_model(model)
    target = type_name(job.target)
    attributes = {
        "gen_ai.operation.name": "extract",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": name,
        "extract.target": target,
    }
    return span(f"extract {target}", attributes)


def _ended(
    model: str,
    job: Job,
    span: Any,
    result: Result[Any] | None,
    error: Exception | None,
    seconds: float,
) -> None:
    target = type_name(job.target)
    usage: Usage = result.usage if result is not None else getattr(error, "usage", Usage())
    attempts = result.attempts if result is not None else getattr(error, "attempts", [])
    span.set_attributes(
        {
            "gen_ai.usage.input_tokens": usage.prompt_tokens,
            "gen_ai.usage.output_tokens": usage.completion_tokens,
            "extract.attempts": len(attempts),
            "extract.retries": max(0, len(attempts) - 1),
            **({} if usage.cost is None else {"extract.cost_usd": usage.cost}),
        }
    )
    if error is None:
        log.info(
            "%s on %s: valid after %d attempt(s), %d tokens, %.2f s",
            target, model, len(attempts), usage.total_tokens, seconds,
        )  # fmt: skip
    else:
        log.info("%s on %s: failed (%s) after %.2f s", target, model, type(error).__name__, seconds)
    hook = job.options.on_result
    if hook is not None:
        hook(ResultEvent(model, target, result, error, usage, seconds))


class BackendRunner:
    """One backend's retry-and-repair loop. A list target's long text is read chunk by
    chunk (``_long``: when longer than ``chunk_size``, or longer than the model's
    context), except while streaming (a stream shows one answer). ``deadline``:
    seconds per extraction unless the options name their own."""

    def __init__(
        self, backend: Backend, deadline: float | None = None, prices: Prices | None = None
    ) -> None:
        self.backend = backend
        self.deadline = deadline
        self.prices = prices

    def __repr__(self) -> str:
        return f"BackendRunner({self.backend.name!r})"

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def takes_back(self) -> bool:
        return self.backend.capabilities.takes_back

    def concurrency(self, requested: int | None) -> int:
        return concurrency_for(self.backend, requested)

    def limited(self, wrap: Callable[[Backend], Backend]) -> BackendRunner:
        return BackendRunner(wrap(self.backend), self.deadline, self.prices)

    def _options(self, options: Options) -> Options:
        if options.deadline is None and self.deadline is not None:
            options = dataclasses.replace(options, deadline=self.deadline)
        if options.prices is None and self.prices is not None:
            options = dataclasses.replace(options, prices=self.prices)
        return options

    def run(self, job: Job, prepare: Prepare | None = None) -> Result[Any]:
        def run(job: Job) -> Result[Any]:
            return finished(job, self._run(job, prepare))

        return observed(self.name, job, run)

    async def arun(self, job: Job, prepare: Prepare | None = None) -> Result[Any]:
        async def run(job: Job) -> Result[Any]:
            return finished(job, await self._arun(job, prepare))

        return await aobserved(self.name, job, run)

    def _run(self, job: Job, prepare: Prepare | None) -> Result[Any]:
        options = with_nearest(job.target, job.compiled, job.text, self._options(job.options))
        backend, target, compiled = self.backend, job.target, job.compiled
        if prepare is not None:
            return run_extraction(backend, target, compiled, job.text, options, prepare)

        def chunk(part: str) -> Result[Any] | ContextWindowError:
            try:
                return run_extraction(backend, target, compiled, part, options)
            except ContextWindowError as smaller:
                return smaller

        size = size_for(compiled, job.text, options, backend.capabilities.reads_prompt)
        if size is not None:
            sized = dataclasses.replace(options, chunk_size=size)
            return drive(chunked_steps(target, compiled, job.text, sized, None), chunk)
        try:
            return run_extraction(backend, target, compiled, job.text, options)
        except ContextWindowError as exc:
            return drive(chunked_steps(target, compiled, job.text, options, exc), chunk)

    async def _arun(self, job: Job, prepare: Prepare | None) -> Result[Any]:
        options = with_nearest(job.target, job.compiled, job.text, self._options(job.options))
        backend, target, compiled = self.backend, job.target, job.compiled
        if prepare is not None:
            return await arun_extraction(backend, target, compiled, job.text, options, prepare)

        async def chunk(part: str) -> Result[Any] | ContextWindowError:
            try:
                return await arun_extraction(backend, target, compiled, part, options)
            except ContextWindowError as smaller:
                return smaller

        size = size_for(compiled, job.text, options, backend.capabilities.reads_prompt)
        if size is not None:
            sized = dataclasses.replace(options, chunk_size=size)
            return await adrive(chunked_steps(target, compiled, job.text, sized, None), chunk)
        try:
            return await arun_extraction(backend, target, compiled, job.text, options)
        except ContextWindowError as exc:
            return await adrive(chunked_steps(target, compiled, job.text, options, exc), chunk)
