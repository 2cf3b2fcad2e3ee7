"""The public entry points: ``extract()``, ``aextract()`` and ``Extractor``."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any, TypeVar, overload

from backends import Backend
from schemas import CompiledSchema, SchemaError, compile_schema

from ._errors import ModelLoadError, UnsupportedTypeError, UsageError
from ._loop import Options, run_extraction
from ._model import default_model_path
from ._prompt import dump_example
from ._result import Result

T = TypeVar("T")


class Extractor:
    """Extracts typed values from text with one model.

    ``model`` is a GGUF file path, a ``llama_cpp.Llama``, any object implementing
    ``backends.Backend``, or ``None`` for the embedded default model.
    """

    def __init__(self, model: Any = None, **backend_options: Any) -> None:
        self.backend: Backend = _backend_for(model, backend_options)

    def __repr__(self) -> str:
        return f"Extractor({self.backend.name!r})"

    @overload
    def run(self, target: type[T], text: str, **options: Any) -> Result[T]: ...
    @overload
    def run(self, target: Any, text: str, **options: Any) -> Result[Any]: ...
    def run(self, target: Any, text: str, **options: Any) -> Result[Any]:
        """Extract one value of ``target`` from ``text``, with its attempts and usage."""
        if not isinstance(text, str):
            raise UsageError(f"text must be a str, not {type(text).__name__}")
        compiled = compile_target(target)
        return run_extraction(self.backend, target, compiled, text, parse_options(target, options))

    @overload
    def extract(self, target: type[T], text: str, **options: Any) -> T: ...
    @overload
    def extract(self, target: Any, text: str, **options: Any) -> Any: ...
    def extract(self, target: Any, text: str, **options: Any) -> Any:
        """Like ``run`` but returns only the value."""
        return self.run(target, text, **options).value

    async def arun(self, target: Any, text: str, **options: Any) -> Result[Any]:
        """Async ``run``: the model call happens in a worker thread."""
        return await asyncio.to_thread(lambda: self.run(target, text, **options))

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


def compile_target(target: Any) -> CompiledSchema:
    try:
        return compile_schema(target)
    except SchemaError as exc:
        raise UnsupportedTypeError(str(exc)) from exc


_OPTION_NAMES = ("max_retries", "temperature", "max_tokens", "instructions", "examples", "seed")


def parse_options(target: Any, options: dict[str, Any]) -> Options:
    unknown = sorted(set(options) - set(_OPTION_NAMES))
    if unknown:
        raise UsageError(f"unknown option(s) {unknown}; known: {list(_OPTION_NAMES)}")
    parsed = Options(
        **{**options, "examples": tuple(_examples(target, options.get("examples", ())))}
    )
    if not isinstance(parsed.max_retries, int) or parsed.max_retries < 0:
        raise UsageError("max_retries must be an int >= 0")
    if not isinstance(parsed.max_tokens, int) or parsed.max_tokens < 1:
        raise UsageError("max_tokens must be an int >= 1")
    if not isinstance(parsed.temperature, (int, float)) or parsed.temperature < 0:
        raise UsageError("temperature must be a number >= 0")
    if parsed.seed is not None and not isinstance(parsed.seed, int):
        raise UsageError("seed must be an int or None")
    return parsed


def _examples(target: Any, examples: Sequence[Any]) -> list[tuple[str, Any]]:
    checked = []
    compiled = compile_target(target)
    for item in examples:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise UsageError("examples must be (text, value) pairs")
        text, value = item
        # An example that does not validate would teach the model a wrong answer.
        outcome = compiled.validate(dump_example(value, target))
        if getattr(outcome, "errors", None):
            raise UsageError(f"example value does not validate: {outcome.errors}")
        checked.append((text, value))
    return checked


def _backend_for(model: Any, options: dict[str, Any]) -> Backend:
    if model is not None and not isinstance(model, (str, os.PathLike)) and _is_backend(model):
        return model  # type: ignore[no-any-return]
    try:
        from backends.llamacpp import LlamaCppBackend
    except ImportError as exc:
        raise ModelLoadError(str(exc)) from exc
    if model is None:
        model = default_model_path()
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if (
            ":" in path
            and not os.path.exists(path)
            and path.split(":", 1)[0] in ("openai", "anthropic")
        ):
            raise UsageError(f"hosted backends ({path.split(':', 1)[0]}) are not available yet")
    try:
        return LlamaCppBackend(model, **options)
    except FileNotFoundError as exc:
        raise ModelLoadError(str(exc)) from exc
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"could not load {model!r}: {exc}") from exc


def _is_backend(obj: Any) -> bool:
    return callable(getattr(obj, "complete", None)) and hasattr(obj, "capabilities")
