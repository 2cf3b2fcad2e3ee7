"""The user-facing verbs, written once over a runner (``extract.core._runner``).

``Extractor`` and ``Ensemble`` each build their runner and hand it to ``Verbs``; every
verb then works the same on a local model, a hosted API, a distilled student or an
ensemble of them. A runner that cannot stream (an ensemble votes whole answers)
gives its ``Result`` alone from ``stream`` and its items once it is known.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Sized
from dataclasses import replace
from typing import Any, TypeVar, overload

from extract.core._budget import Budget
from extract.core._errors import UsageError
from extract.core._options import compile_target, parse_options
from extract.core._result import Result
from extract.core._runner import Job, Prepare, Runner
from extract.features.batch import (
    Batch,
    Order,
    Outcome,
    RateLimit,
    ResultCache,
    awith_progress,
    documents,
    open_cache,
    run_tasks,
    run_threads,
    with_progress,
)
from extract.features.documents import Document, Text
from extract.features.documents._render import page_images
from extract.features.streaming import (
    AsyncItems,
    ItemGate,
    Items,
    Snapshot,
    astream_run,
    growing_rule,
    item_type,
    stream_run,
)

T = TypeVar("T")


class Verbs:
    """``run``, ``extract``, ``stream``, ``iter_items``, ``run_many`` and their async
    forms over one ``runner``."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def runner(self) -> Runner:
        """What runs each extraction (extract's own tools run compiled targets on it)."""
        return self._runner

    @property
    def name(self) -> str:
        """The model(s) behind it, e.g. ``"llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf"``."""
        return self._runner.name

    def _job(self, target: Any, text: Any, options: dict[str, Any]) -> Job:
        if isinstance(text, Document):
            if options.get("images") == "pages":
                options = {**options, "images": page_images(text)}
            text = text.text  # result.spans are offsets into document.text
        if not isinstance(text, str):
            raise UsageError(f"text must be a str or a Document, not {type(text).__name__}")
        return Job(target, compile_target(target), text, parse_options(target, options))

    @overload
    def run(self, target: type[T], text: Text, **options: Any) -> Result[T]: ...
    @overload
    def run(self, target: Any, text: Text, **options: Any) -> Result[Any]: ...
    def run(self, target: Any, text: Text, **options: Any) -> Result[Any]:
        """Extract one value of ``target`` from ``text``, with its attempts and usage."""
        return self._runner.run(self._job(target, text, options))

    async def arun(self, target: Any, text: Text, **options: Any) -> Result[Any]:
        """Async ``run``. With an async client the request is awaited (cancelling
        cancels it); a blocking backend runs in a worker thread."""
        return await self._runner.arun(self._job(target, text, options))

    @overload
    def extract(self, target: type[T], text: Text, **options: Any) -> T: ...
    @overload
    def extract(self, target: Any, text: Text, **options: Any) -> Any: ...
    def extract(self, target: Any, text: Text, **options: Any) -> Any:
        """Like ``run`` but returns only the value."""
        return self.run(target, text, **options).value

    @overload
    async def aextract(self, target: type[T], text: Text, **options: Any) -> T: ...
    @overload
    async def aextract(self, target: Any, text: Text, **options: Any) -> Any: ...
    async def aextract(self, target: Any, text: Text, **options: Any) -> Any:
        return (await self.arun(target, text, **options)).value

    def stream(
        self,
        target: Any,
        text: Text,
        *,
        strings: bool = True,
        whole: Collection[str] = (),
        **options: Any,
    ) -> Iterator[Snapshot | Result[Any]]:
        """Snapshots of the record while the model writes it (``extract.Snapshot``:
        objects and lists as they start, scalars only once complete, the string being
        written apart: free text only, never a choice or a date; ``strings=False``
        shows none, ``whole={"/email", "/lines/*/name"}`` opts text fields out), then
        the ``Result`` that ``run`` with the same options gives. The local model,
        OpenAI, Anthropic and compatible servers stream; other backends and ensembles
        give the result alone. A text longer than the model's context is not streamed
        (use ``run``)."""
        job = self._job(target, text, options)
        grows = growing_rule(job.compiled.json_schema, strings, whole)

        def run(prepare: Prepare) -> Result[Any]:
            return self._runner.run(job, prepare)

        return stream_run(run, grows)

    def astream(
        self,
        target: Any,
        text: Text,
        *,
        strings: bool = True,
        whole: Collection[str] = (),
        **options: Any,
    ) -> AsyncIterator[Snapshot | Result[Any]]:
        """``stream`` as an async iterator; the extraction is awaited as ``arun`` does."""
        job = self._job(target, text, options)
        grows = growing_rule(job.compiled.json_schema, strings, whole)

        async def arun(prepare: Prepare) -> Result[Any]:
            return await self._runner.arun(job, prepare)

        return astream_run(arun, grows)

    @overload
    def iter_items(self, target: type[list[T]], text: Text, **options: Any) -> Items[T]: ...
    @overload
    def iter_items(self, target: Any, text: Text, **options: Any) -> Items[Any]: ...
    def iter_items(self, target: Any, text: Text, **options: Any) -> Items[Any]:
        """The items of a ``list[Model]`` ``target``, each as soon as the model has
        written it and it validates (``extract.Items``; its ``result`` is ``run``'s
        ``Result`` once all are given). From a runner that may cut its answer back
        (the local loop guard), items repeating earlier ones wait for the list to move
        on; a final answer that contradicts items already given raises
        ``ItemsChangedError`` (never a silent change)."""
        gate = ItemGate(item_type(target), self._runner.takes_back)
        return Items(iter(self.stream(target, text, strings=False, **options)), gate)

    @overload
    def aiter_items(self, target: type[list[T]], text: Text, **options: Any) -> AsyncItems[T]: ...
    @overload
    def aiter_items(self, target: Any, text: Text, **options: Any) -> AsyncItems[Any]: ...
    def aiter_items(self, target: Any, text: Text, **options: Any) -> AsyncItems[Any]:
        """``iter_items`` as an async iterator."""
        gate = ItemGate(item_type(target), self._runner.takes_back)
        return AsyncItems(self.astream(target, text, strings=False, **options), gate)

    def run_many(
        self,
        target: Any,
        inputs: Iterable[Any],
        *,
        order: Order = "input",
        concurrency: int | None = None,
        cache: bool | str | os.PathLike[str] | ResultCache | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        progress: bool = False,
        budget_tokens: int | None = None,
        **options: Any,
    ) -> Iterator[Outcome[Any]]:
        """Extract from many texts; yields one ``Outcome`` per input, never raising for
        one document's failure.

        ``inputs``: strings (ids are positions), ``(id, text)`` pairs or ``{"id", "text"}``
        mappings, or a table: a pandas or polars DataFrame, a ``datasets.Dataset`` or a
        ``pyarrow.Table`` with a ``text`` column (and ``id``, else row positions; a row
        without text is an ``InputError`` outcome). ``order="completed"`` yields as
        results come. ``concurrency``: requests at once for hosted backends (default 8);
        a local model runs one at a time.
        ``cache``: ``True`` (the user cache directory), a SQLite path or a ``ResultCache``.
        ``progress``: a progress bar (a status line off a terminal) and a summary on
        stderr; the total is known when ``inputs`` has a length.
        ``budget_tokens``: tokens the whole batch may spend; checked before each call,
        and once spent every document left is a failed outcome (``BudgetExceededError``,
        with what was spent), never a lost one.
        """
        options = _with_budget(options, budget_tokens)
        docs = documents(inputs)  # a table without a text column raises before the cache opens
        batch = self._batch(target, cache, requests_per_minute, tokens_per_minute, options, order)
        outcomes = run_threads(docs, batch.run, batch.workers(concurrency), order)
        if progress:
            outcomes = with_progress(outcomes, _length(inputs))
        return batch.closing(outcomes)

    async def arun_many(
        self,
        target: Any,
        inputs: Iterable[Any],
        *,
        order: Order = "input",
        concurrency: int | None = None,
        cache: bool | str | os.PathLike[str] | ResultCache | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        progress: bool = False,
        budget_tokens: int | None = None,
        **options: Any,
    ) -> AsyncIterator[Outcome[Any]]:
        """Async ``run_many``: ``concurrency`` requests in flight (``async for``)."""
        options = _with_budget(options, budget_tokens)
        docs = documents(inputs)
        batch = self._batch(target, cache, requests_per_minute, tokens_per_minute, options, order)
        outcomes = run_tasks(docs, batch.arun, batch.workers(concurrency), order)
        if progress:
            outcomes = awith_progress(outcomes, _length(inputs))
        try:
            async for outcome in outcomes:
                yield outcome
        finally:
            batch.close()

    def _batch(
        self,
        target: Any,
        cache: Any,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        options: dict[str, Any],
        order: str,
    ) -> Batch:
        if order not in ("input", "completed"):
            raise UsageError(f"order must be 'input' or 'completed', not {order!r}")
        compiled = compile_target(target)
        budgets = options.pop("budgets", ())
        parsed = parse_options(target, options)
        if budgets:
            parsed = replace(parsed, budgets=budgets)
        limit = None
        if requests_per_minute is not None or tokens_per_minute is not None:
            limit = RateLimit(requests_per_minute, tokens_per_minute)
        opened = open_cache(cache)
        owned = opened is not None and opened is not cache
        return Batch(self._runner, target, compiled, parsed, opened, limit, owned)


def _length(inputs: Iterable[Any]) -> int | None:
    return len(inputs) if isinstance(inputs, Sized) else None


def _with_budget(options: dict[str, Any], budget_tokens: int | None) -> dict[str, Any]:
    """The batch's options with its own token budget, which every document shares."""
    if budget_tokens is None:
        return options
    return {**options, "budgets": (Budget(budget_tokens, "batch"),)}
