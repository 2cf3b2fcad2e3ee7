"""What the hosted backends share: strategies, the provider schema of a request, names."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, Literal

from extract.schemas import (
    CompiledSchema,
    ProviderSchema,
    llama_cpp_server_schema,
    openai_strict_schema,
    tool_schema,
)

from ._transport import DEFAULT_TIMEOUT_SECONDS, is_seconds

Strategy = Literal["tools_strict", "json_schema", "tools", "json_object", "prompt"]
STRATEGIES: tuple[Strategy, ...] = ("tools_strict", "json_schema", "tools", "json_object", "prompt")

_NAME = re.compile(r"[^a-zA-Z0-9_-]+")


def tool_name(schema: dict[str, Any]) -> str:
    """A function name the APIs accept (``^[a-zA-Z0-9_-]{1,64}$``) from the schema title."""
    title = schema.get("title")
    name = _NAME.sub("_", title).strip("_")[:64] if isinstance(title, str) else ""
    return name or "extract"


class ProviderSchemas:
    """The provider form of each schema, worked out once per schema (thread-safe)."""

    def __init__(self, convert: Callable[[dict[str, Any]], ProviderSchema]) -> None:
        self._convert = convert
        self._cache: dict[str, ProviderSchema] = {}
        self._lock = threading.Lock()

    def __call__(self, compiled: CompiledSchema) -> ProviderSchema:
        with self._lock:
            found = self._cache.get(compiled.key)
        if found is None:
            found = self._convert(compiled.json_schema)
            with self._lock:
                self._cache[compiled.key] = found
        return found


def strict_schemas() -> ProviderSchemas:
    return ProviderSchemas(openai_strict_schema)


def plain_schemas() -> ProviderSchemas:
    return ProviderSchemas(tool_schema)


def grammar_safe_schemas() -> ProviderSchemas:
    """Tool schemas that servers converting them with llama-cpp-python's converter take."""
    return ProviderSchemas(llama_cpp_server_schema)


def parse_strategy(value: str) -> Strategy:
    for strategy in STRATEGIES:
        if value == strategy:
            return strategy
    raise ValueError(f"unknown strategy {value!r}; known: {', '.join(STRATEGIES)}")


def client_options(options: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Takes the SDK client's options (key, URL, timeout) out of ``options``, and
    whether an async client is wanted; what is left is for the backend. The timeout
    bounds each whole call: ``DEFAULT_TIMEOUT_SECONDS`` (120 s) unless given
    (``timeout=None``: unbounded)."""
    taken: dict[str, Any] = {
        k: options.pop(k) for k in ("api_key", "base_url", "timeout") if k in options
    }
    timeout = taken.setdefault("timeout", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(timeout, (int, float)) and not (is_seconds(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a number of seconds > 0 or None, not {timeout!r}")
    return taken, bool(options.pop("asynchronous", False))
