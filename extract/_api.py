"""The public entry points: ``extract()``, ``aextract()`` and ``Extractor``."""

from __future__ import annotations

import dataclasses
import importlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sized
from typing import Any, TypeVar, overload

from backends import Backend, Request, adrive, drive
from schemas import CompiledSchema

from ._errors import ContextWindowError, ModelLoadError, UsageError
from ._long import chunked_steps
from ._loop import Options, arun_extraction, run_extraction
from ._model import default_model_path
from ._options import check_deadline, compile_target, parse_options
from ._result import Result
from .batch import (
    Batch,
    LimitedBackend,
    Order,
    Outcome,
    RateLimit,
    ResultCache,
    awith_progress,
    concurrency_for,
    documents,
    open_cache,
    run_tasks,
    run_threads,
    with_progress,
)
from .streaming import (
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


class Extractor:
    """Extracts typed values from text with one model.

    ``model`` is a GGUF file path, a ``llama_cpp.Llama``, ``"openai:MODEL"``,
    ``"anthropic:MODEL"``, an ``openai.OpenAI``/``AsyncOpenAI`` or
    ``anthropic.Anthropic``/``AsyncAnthropic`` client (then pass ``model=``), a client
    built by ``instructor`` (``from_openai``, ``from_litellm``, ``from_provider``...), any object
    implementing ``backends.Backend``, or ``None`` for the embedded default model.
    Hosted options: ``base_url`` (OpenAI-compatible servers), ``profile``, ``strategy``,
    ``retry`` (a ``backends.RetryPolicy``), ``api_key``, ``timeout`` (seconds each whole
    call may take; for ``"openai:MODEL"``/``"anthropic:MODEL"`` 120 s unless given, for
    your own client its own timeout), ``asynchronous``.
    ``deadline``: seconds each extraction may take in all (calls, transport retries and
    re-asks), else ``DeadlineExceededError``; a ``deadline=`` per call overrides it.
    ``rate_limit``: a ``RateLimit`` every request of this extractor waits for; give the
    same one to several extractors that share an API key.
    """

    deadline: float | None = None  # seconds per extraction; None: none

    def __init__(
        self,
        model: Any = None,
        /,
        *,
        rate_limit: RateLimit | None = None,
        deadline: float | None = None,
        **backend_options: Any,
    ) -> None:
        self.deadline = check_deadline(deadline)
        if model is None and "model" in backend_options:  # Extractor(model="x.gguf")
            model = backend_options.pop("model")
        if rate_limit is not None and not isinstance(rate_limit, RateLimit):
            raise UsageError(f"rate_limit must be an extract.RateLimit, not {rate_limit!r}")
        backend = _backend_for(model, backend_options)
        self.backend: Backend = (
            backend if rate_limit is None else LimitedBackend(backend, rate_limit)
        )

    def __repr__(self) -> str:
        return f"Extractor({self.backend.name!r})"

    def _deadlined(self, options: Options) -> Options:
        """``options`` with this extractor's deadline, unless they name their own."""
        if options.deadline is None and self.deadline is not None:
            return dataclasses.replace(options, deadline=self.deadline)
        return options

    @property
    def name(self) -> str:
        """The model behind it, e.g. ``"llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf"``."""
        return self.backend.name

    def concurrency(self, requested: int | None) -> int:
        """Documents at once in ``run_many``: as requested (8 by default), capped by
        what the backend serves (a local model: one)."""
        return concurrency_for(self.backend, requested)

    @overload
    def run(self, target: type[T], text: str, **options: Any) -> Result[T]: ...
    @overload
    def run(self, target: Any, text: str, **options: Any) -> Result[Any]: ...
    def run(self, target: Any, text: str, **options: Any) -> Result[Any]:
        """Extract one value of ``target`` from ``text``, with its attempts and usage."""
        _check_text(text)
        compiled = compile_target(target)
        return self.run_compiled(target, compiled, text, parse_options(target, options))

    def stream(
        self,
        target: Any,
        text: str,
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
        OpenAI, Anthropic and compatible servers stream; other backends give the result
        alone. A text longer than the model's context is not streamed (use ``run``)."""
        _check_text(text)
        compiled = compile_target(target)
        parsed = parse_options(target, options)
        grows = growing_rule(compiled.json_schema, strings, whole)

        parsed = self._deadlined(parsed)

        def run(prepare: Callable[[Request], Request]) -> Result[Any]:
            return run_extraction(self.backend, target, compiled, text, parsed, prepare)

        return stream_run(run, grows)

    def astream(
        self,
        target: Any,
        text: str,
        *,
        strings: bool = True,
        whole: Collection[str] = (),
        **options: Any,
    ) -> AsyncIterator[Snapshot | Result[Any]]:
        """``stream`` as an async iterator; the extraction is awaited as ``arun`` does."""
        _check_text(text)
        compiled = compile_target(target)
        parsed = parse_options(target, options)
        grows = growing_rule(compiled.json_schema, strings, whole)

        parsed = self._deadlined(parsed)

        async def arun(prepare: Callable[[Request], Request]) -> Result[Any]:
            return await arun_extraction(self.backend, target, compiled, text, parsed, prepare)

        return astream_run(arun, grows)

    @overload
    def iter_items(self, target: type[list[T]], text: str, **options: Any) -> Items[T]: ...
    @overload
    def iter_items(self, target: Any, text: str, **options: Any) -> Items[Any]: ...
    def iter_items(self, target: Any, text: str, **options: Any) -> Items[Any]:
        """The items of a ``list[Model]`` ``target``, each as soon as the model has
        written it and it validates (``extract.Items``; its ``result`` is ``run``'s
        ``Result`` once all are given). From a backend that may cut its answer back
        (the local loop guard), items repeating earlier ones wait for the list to move
        on; a final answer that contradicts items already given raises
        ``ItemsChangedError`` (never a silent change)."""
        gate = ItemGate(item_type(target), self.backend.capabilities.takes_back)
        return Items(iter(self.stream(target, text, strings=False, **options)), gate)

    @overload
    def aiter_items(self, target: type[list[T]], text: str, **options: Any) -> AsyncItems[T]: ...
    @overload
    def aiter_items(self, target: Any, text: str, **options: Any) -> AsyncItems[Any]: ...
    def aiter_items(self, target: Any, text: str, **options: Any) -> AsyncItems[Any]:
        """``iter_items`` as an async iterator."""
        gate = ItemGate(item_type(target), self.backend.capabilities.takes_back)
        return AsyncItems(self.astream(target, text, strings=False, **options), gate)

    def run_compiled(
        self, target: Any, compiled: CompiledSchema, text: str, options: Options
    ) -> Result[Any]:
        """``run`` with the target compiled, options parsed and text checked; a text
        longer than the model's context is read chunk by chunk (``_long``)."""
        options = self._deadlined(options)
        try:
            return run_extraction(self.backend, target, compiled, text, options)
        except ContextWindowError as exc:
            steps = chunked_steps(target, compiled, text, options, exc)

            def chunk(part: str) -> Result[Any] | ContextWindowError:
                try:
                    return run_extraction(self.backend, target, compiled, part, options)
                except ContextWindowError as smaller:
                    return smaller

            return drive(steps, chunk)

    async def arun_compiled(
        self, target: Any, compiled: CompiledSchema, text: str, options: Options
    ) -> Result[Any]:
        options = self._deadlined(options)
        try:
            return await arun_extraction(self.backend, target, compiled, text, options)
        except ContextWindowError as exc:
            steps = chunked_steps(target, compiled, text, options, exc)

            async def chunk(part: str) -> Result[Any] | ContextWindowError:
                try:
                    return await arun_extraction(self.backend, target, compiled, part, options)
                except ContextWindowError as smaller:
                    return smaller

            return await adrive(steps, chunk)

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
        **options: Any,
    ) -> Iterator[Outcome[Any]]:
        """Extract from many texts; yields one ``Outcome`` per input, never raising for
        one document's failure.

        ``inputs``: strings (ids are positions), ``(id, text)`` pairs or ``{"id", "text"}``
        mappings. ``order="completed"`` yields as results come. ``concurrency``: requests
        at once for hosted backends (default 8); a local model runs one at a time.
        ``cache``: ``True`` (the user cache directory), a SQLite path or a ``ResultCache``.
        ``progress``: a progress bar (a status line off a terminal) and a summary on
        stderr; the total is known when ``inputs`` has a length.
        """
        batch = self._batch(target, cache, requests_per_minute, tokens_per_minute, options, order)
        workers = self.concurrency(concurrency)
        outcomes = run_threads(documents(inputs), batch.run, workers, order)
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
        **options: Any,
    ) -> AsyncIterator[Outcome[Any]]:
        """Async ``run_many``: ``concurrency`` requests in flight (``async for``)."""
        batch = self._batch(target, cache, requests_per_minute, tokens_per_minute, options, order)
        outcomes = run_tasks(documents(inputs), batch.arun, self.concurrency(concurrency), order)
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
        parsed = parse_options(target, options)
        limit = None
        if requests_per_minute is not None or tokens_per_minute is not None:
            limit = RateLimit(requests_per_minute, tokens_per_minute)
        opened = open_cache(cache)
        owned = opened is not None and opened is not cache
        return self.new_batch(target, compiled, parsed, opened, limit, owned)

    def new_batch(
        self,
        target: Any,
        compiled: CompiledSchema,
        options: Options,
        cache: ResultCache | None,
        limit: RateLimit | None,
        owns_cache: bool,
    ) -> Batch:
        """What ``run_many`` and the CLI run documents with: this extractor's loop
        through the batch's cache and rate limit."""
        options = self._deadlined(options)
        return Batch(self.backend, target, compiled, options, cache, limit, owns_cache)

    @overload
    def extract(self, target: type[T], text: str, **options: Any) -> T: ...
    @overload
    def extract(self, target: Any, text: str, **options: Any) -> Any: ...
    def extract(self, target: Any, text: str, **options: Any) -> Any:
        """Like ``run`` but returns only the value."""
        return self.run(target, text, **options).value

    async def arun(self, target: Any, text: str, **options: Any) -> Result[Any]:
        """Async ``run``. With an async client the request is awaited (cancelling
        cancels it); a blocking backend runs in a worker thread."""
        _check_text(text)
        compiled = compile_target(target)
        return await self.arun_compiled(target, compiled, text, parse_options(target, options))

    @overload
    async def aextract(self, target: type[T], text: str, **options: Any) -> T: ...
    @overload
    async def aextract(self, target: Any, text: str, **options: Any) -> Any: ...
    async def aextract(self, target: Any, text: str, **options: Any) -> Any:
        return (await self.arun(target, text, **options)).value


_default: Extractor | None = None
_default_lock = threading.Lock()


def default_extractor() -> Extractor:
    """The embedded default model, loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Extractor()
        return _default


@overload
def extract(target: type[T], text: str, **options: Any) -> T: ...
@overload
def extract(target: Any, text: str, **options: Any) -> Any: ...
def extract(target: Any, text: str, **options: Any) -> Any:
    """Extract a ``target`` (a Pydantic model, ``list[Model]``, ...) from ``text``."""
    return default_extractor().extract(target, text, **options)


async def aextract(target: Any, text: str, **options: Any) -> Any:
    return await default_extractor().aextract(target, text, **options)


def stream(target: Any, text: str, **options: Any) -> Iterator[Snapshot | Result[Any]]:
    """``Extractor.stream`` with the default extractor (the embedded model)."""
    return default_extractor().stream(target, text, **options)


def astream(target: Any, text: str, **options: Any) -> AsyncIterator[Snapshot | Result[Any]]:
    """``Extractor.astream`` with the default extractor (the embedded model)."""
    return default_extractor().astream(target, text, **options)


@overload
def iter_items(target: type[list[T]], text: str, **options: Any) -> Items[T]: ...
@overload
def iter_items(target: Any, text: str, **options: Any) -> Items[Any]: ...
def iter_items(target: Any, text: str, **options: Any) -> Items[Any]:
    """``Extractor.iter_items`` with the default extractor (the embedded model)."""
    return default_extractor().iter_items(target, text, **options)


@overload
def aiter_items(target: type[list[T]], text: str, **options: Any) -> AsyncItems[T]: ...
@overload
def aiter_items(target: Any, text: str, **options: Any) -> AsyncItems[Any]: ...
def aiter_items(target: Any, text: str, **options: Any) -> AsyncItems[Any]:
    """``Extractor.aiter_items`` with the default extractor (the embedded model)."""
    return default_extractor().aiter_items(target, text, **options)


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise UsageError(f"text must be a str, not {type(text).__name__}")


def _backend_for(model: Any, options: dict[str, Any]) -> Backend:
    if model is not None and not isinstance(model, (str, os.PathLike)):
        vendor = type(model).__module__.split(".")[0]
        if vendor in _CLIENTS:
            return _hosted_backend(vendor, model, options, from_client=True)
        if _is_backend(model):
            return model  # type: ignore[no-any-return]
        if vendor == "spacy":  # a pipeline that `extract distill` trained, already loaded
            return _student(model, options)
    if isinstance(model, str) and not os.path.exists(model):
        vendor, _, name = model.partition(":")
        if vendor in _NAMED and name:
            return _hosted_backend(vendor, name, options, from_client=False)
        if vendor == "spacy" and name:
            return _student(name, options)
    try:
        from backends._cpu import UnrunnableLibrary
        from backends.llamacpp import LlamaCppBackend
    except ImportError as exc:
        raise ModelLoadError(str(exc)) from exc
    if model is None:
        model = default_model_path()
    try:
        return LlamaCppBackend(model, **options)
    except (FileNotFoundError, UnrunnableLibrary) as exc:
        raise ModelLoadError(str(exc)) from exc
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"could not load {model!r}: {exc}") from exc


# Client's top-level module -> (backend module, factory, pip extra). Imported when used.
_CLIENTS = {
    "openai": ("backends.openai_api", "OpenAIBackend", "hosted"),
    "anthropic": ("backends.anthropic_api", "AnthropicBackend", "hosted"),
    "instructor": ("backends.instructor_api", "instructor_backend", "instructor"),
}
_NAMED = ("openai", "anthropic")  # "openai:MODEL" and "anthropic:MODEL"


def _hosted_backend(vendor: str, model: Any, options: dict[str, Any], from_client: bool) -> Backend:
    module_name, class_name, extra = _CLIENTS[vendor]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelLoadError(
            f"{vendor} needs its SDK: pip install 'structured-extract[{extra}]' ({exc})"
        ) from exc
    cls = getattr(module, class_name)
    try:
        if from_client:
            # An instructor client may carry a default model (instructor.from_provider).
            if "model" not in options and vendor != "instructor":
                raise UsageError(
                    f"pass model=... with a {vendor} client, e.g. Extractor(client, model='...')"
                )
            options = dict(options)
            return cls(model, options.pop("model", None), **options)  # type: ignore[no-any-return]
        return cls.from_name(model, **options)  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{vendor}: {exc}") from exc
    except Exception as exc:  # the SDK's own error, e.g. a missing key
        if type(exc).__module__.split(".")[0] == vendor:
            raise ModelLoadError(f"{vendor}: {exc}") from exc
        raise


def _student(model: Any, options: dict[str, Any]) -> Backend:
    try:
        from backends.spacy_student import SpacyStudent
    except ImportError as exc:
        raise ModelLoadError(
            f"a spaCy student needs spaCy: pip install 'structured-extract[distill]' ({exc})"
        ) from exc
    try:
        return SpacyStudent(model, **options)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load the spaCy student {model!r}: {exc}") from exc


def _is_backend(obj: Any) -> bool:
    return callable(getattr(obj, "complete", None)) and hasattr(obj, "capabilities")


def _length(inputs: Iterable[Any]) -> int | None:
    return len(inputs) if isinstance(inputs, Sized) else None
