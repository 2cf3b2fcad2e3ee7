"""OpenTelemetry spans, when ``opentelemetry-api`` is installed; nothing otherwise.

Names and attributes follow OpenTelemetry's semantic conventions for generative AI
(``gen_ai.*``): a model call is a span named ``"{gen_ai.operation.name}
{gen_ai.request.model}"``. The API package alone records nothing: spans reach an
exporter only where the application set up a tracer provider (the SDK), so this costs
next to nothing when no one listens. No prompt or answer text is put on a span.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from typing import Any

try:
    from opentelemetry import trace as _trace
except ImportError:  # the otel extra is not installed: no spans
    _trace = None  # type: ignore[assignment]

Attributes = Mapping[str, str | int | float | bool | tuple[str, ...]]


class _NoSpan:
    """Stands in for a span when OpenTelemetry is not installed."""

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: Attributes) -> None:
        return None

    def record_exception(self, exception: BaseException) -> None:
        return None


NO_SPAN = _NoSpan()


def provider_and_model(backend_name: str) -> tuple[str, str]:
    """``"openai:gpt-4o-mini@host"`` -> ``("openai", "gpt-4o-mini")``; a name without a
    provider part is its own model."""
    if backend_name.startswith("ensemble["):  # several models: named by the vote
        return "extract", "ensemble"
    provider, sep, model = backend_name.partition(":")
    if not sep:
        return "extract", backend_name
    return provider, model.split("@", 1)[0]


@functools.cache
def _tracer() -> Any:
    """One tracer per process: OpenTelemetry's proxy, which follows a tracer provider
    set up after it was made, so looking it up on every call would only cost time."""
    assert _trace is not None
    return _trace.get_tracer("extract")


@contextlib.contextmanager
def span(name: str, attributes: Attributes, *, client: bool = False) -> Iterator[Any]:
    """A span around the block (current, so spans inside nest under it), or a stand-in.
    An exception leaving the block is recorded on it, with ``error.type``."""
    if _trace is None:
        yield NO_SPAN
        return
    tracer = _tracer()
    kind = _trace.SpanKind.CLIENT if client else _trace.SpanKind.INTERNAL
    with tracer.start_as_current_span(name, kind=kind, attributes=dict(attributes)) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_attribute("error.type", type(exc).__name__)
            raise
