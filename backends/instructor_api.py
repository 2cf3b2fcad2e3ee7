"""Clients built by ``instructor`` (``from_openai``, ``from_anthropic``, ``from_litellm``,
``from_provider``...): instructor carries the request to its provider, our loop does the
prompting, repair and re-asking.

A client wrapping an OpenAI or Anthropic SDK client is unwrapped to our own backend for
that SDK: it has forced tools, strict schemas and the transport retries, and instructor's
mode picks the strategy. Any other provider goes through the instructor client itself
with ``response_model=None``, which makes instructor return the provider's own response
unvalidated; the schema travels in the prompt and the text is read from the response by
its shape (OpenAI-, Anthropic-, Gemini- or Cohere-like). ``instructor`` is imported lazily.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from typing import Any

from ._base import Capabilities, Completion, FinishReason, Message, ProviderFailure, Request
from ._exchange import Exchange, HostedCalls
from ._transport import RetryPolicy, status_failure, summary

# instructor's mode -> our strategy for an unwrapped OpenAI client; modes not named here
# (TOOLS, PARALLEL_TOOLS...) leave the choice to the server's profile.
_OPENAI_STRATEGY = {
    "tools_strict": "tools_strict",
    "json_mode": "json_object",
    "json_schema_mode": "json_schema",
    "markdown_json_mode": "prompt",
}


def instructor_backend(client: Any, model: str | None = None, **options: Any) -> Any:
    """Our backend for an ``instructor.Instructor`` or ``AsyncInstructor`` client."""
    import instructor

    if not isinstance(client, instructor.Instructor):
        raise TypeError(f"expected an instructor client, got {type(client).__name__}")
    model = model or client.default_model
    inner = client.client
    vendor = type(inner).__module__.split(".")[0] if inner is not None else ""
    if vendor in ("openai", "anthropic"):
        if not model:
            raise ValueError("pass model=... with this client")
        return _sdk_backend(vendor, client, inner, model, options)
    return InstructorBackend(client, model, **options)


def _sdk_backend(vendor: str, client: Any, inner: Any, model: str, options: Any) -> Any:
    """Our backend for the SDK client inside ``client``."""
    if vendor == "openai":
        from .openai_api import OpenAIBackend

        mode = getattr(client.mode, "value", str(client.mode))
        options.setdefault("strategy", _OPENAI_STRATEGY.get(mode))
        return OpenAIBackend(inner, model, **options)
    from .anthropic_api import AnthropicBackend

    return AnthropicBackend(inner, model, **options)


class InstructorBackend(HostedCalls):
    sdk = "instructor"

    """Any provider an instructor client reaches, with the schema in the prompt."""

    def __init__(
        self,
        client: Any,
        model: str | None = None,
        *,
        create_kwargs: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        import instructor

        self._client = client
        self.model = model
        self.is_async = isinstance(client, instructor.AsyncInstructor)
        self._provider = f"instructor/{getattr(client.provider, 'value', client.provider)}"
        # Providers name sampling options differently; these are the chat-completions
        # names, which litellm and most providers take. create_kwargs replaces them.
        self._create_kwargs = create_kwargs
        self._retry = retry or RetryPolicy()
        # The provider's key, when its client shows one: redacted from every message.
        self._secret: str | None = getattr(getattr(client, "client", None), "api_key", None)
        if not isinstance(self._secret, str):
            self._secret = None

    def __repr__(self) -> str:
        return f"InstructorBackend({self.name!r})"

    @property
    def name(self) -> str:
        # No model: the one instructor's client injects (e.g. from_provider's).
        return f"{self._provider}:{self.model or 'default'}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(strategies=("prompt",), asynchronous=True)

    def exchange(self, request: Request) -> Exchange:
        started = time.perf_counter()
        answer = yield self._params(request)
        if isinstance(answer, ProviderFailure):
            raise answer
        return self._completion(answer, time.perf_counter() - started, request.max_tokens)

    def _create(self, params: dict[str, Any], seconds: float | None) -> Any:
        # Whatever the provider, no per-call timeout reaches it from here: an async
        # client's call is bounded by the caller, a blocking one only between calls.
        return self._client.create(**params)

    def _params(self, request: Request) -> dict[str, Any]:
        sampling = (
            dict(self._create_kwargs)
            if self._create_kwargs is not None
            else {"temperature": request.temperature, "max_tokens": request.max_tokens}
        )
        params: dict[str, Any] = {
            "response_model": None,  # instructor hands back the provider's response as is
            "max_retries": 0,  # our loop re-asks, with the errors quoted
            "messages": [_message(m) for m in request.messages],
            **sampling,
        }
        if self.model:
            params["model"] = self.model
        return params

    def _completion(self, response: Any, seconds: float, max_tokens: int) -> Completion:
        read = read_response(response)
        if read is None:
            raise ProviderFailure(
                f"{self._provider}: bad_response: cannot read text from a "
                f"{type(response).__module__}.{type(response).__name__} response",
                provider=self._provider,
                problem="bad_response",
                retryable=False,
            )
        text, finish, prompt_tokens, completion_tokens = read
        if finish == "stop" and completion_tokens >= max_tokens:
            finish = "length"
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            timings={"request_s": seconds},
        )

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        """Any exception from the provider call, classified by what it carries."""
        if isinstance(exc, ProviderFailure):
            return exc
        if not isinstance(exc, Exception):
            return None  # KeyboardInterrupt, cancellation: not ours to turn into errors
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            return status_failure(exc, self._provider, self._secret)
        kind = type(exc).__name__
        if isinstance(exc, TimeoutError) or "Timeout" in kind:
            problem, retryable = "timeout", True
        elif isinstance(exc, ConnectionError) or "Connection" in kind:
            problem, retryable = "connection", True
        else:
            problem, retryable = "other", False
        return ProviderFailure(
            f"{self._provider}: {problem}: {summary(exc, self._secret)}",
            provider=self._provider,
            problem=problem,  # type: ignore[arg-type]
            retryable=retryable,
        )


def _message(message: Message) -> dict[str, Any]:
    # No tools in this strategy: a re-ask reaches the model as a user turn.
    role = "user" if message.role == "tool" else message.role
    return {"role": role, "content": message.content}


# Finish reasons by name (an enum's .name, else the string), across providers.
_LENGTH = {"length", "max_tokens", "MAX_TOKENS", "ERROR_LIMIT"}
_REFUSAL = {"content_filter", "refusal", "SAFETY", "ERROR_TOXIC"}


def read_response(response: Any) -> tuple[str, FinishReason, int, int] | None:
    """Text, finish reason and token counts from a provider's chat response, or ``None``
    if its shape is not one we know. Shapes, by what they carry: OpenAI's (and litellm's)
    ``choices[0].message.content``, Anthropic's ``content`` blocks, Cohere v2's
    ``message.content`` blocks, and ``.text`` (Gemini, Cohere v1)."""
    if isinstance(response, str):
        return response, "stop", 0, 0
    choices = _get(response, "choices")
    if choices:
        choice = choices[0]
        message = _get(choice, "message")
        text = _get(message, "content") or ""
        calls = _get(message, "tool_calls")
        if calls:
            text = _get(_get(calls[0], "function"), "arguments") or text
        usage = _get(response, "usage")
        reason = _get(choice, "finish_reason")
        if _get(message, "refusal"):
            reason, text = "refusal", _get(message, "refusal")
        return (
            str(text),
            _finish(reason),
            _int(_get(usage, "prompt_tokens")),
            _int(_get(usage, "completion_tokens")),
        )
    blocks = _get(response, "content")
    if blocks is None:
        blocks = _get(_get(response, "message"), "content")  # Cohere v2
    if isinstance(blocks, list):
        text = "".join(str(_get(b, "text") or "") for b in blocks)
        usage = _get(response, "usage")
        tokens = _get(usage, "tokens") or usage  # Cohere v2 nests them
        return (
            text,
            _finish(_get(response, "stop_reason") or _get(response, "finish_reason")),
            _int(_get(tokens, "input_tokens")),
            _int(_get(tokens, "output_tokens")),
        )
    text = _get(response, "text")
    if isinstance(text, str):
        usage = _get(response, "usage_metadata")
        candidates = _get(response, "candidates") or [None]
        reason = _get(candidates[0], "finish_reason") or _get(response, "finish_reason")
        return (
            text,
            _finish(reason),
            _int(_get(usage, "prompt_token_count")),
            _int(_get(usage, "candidates_token_count")),
        )
    return None


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    value = getattr(obj, name, None)
    return None if inspect.ismethod(value) else value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _finish(reason: Any) -> FinishReason:
    name = str(getattr(reason, "name", reason) or "")
    if name in _LENGTH:
        return "length"
    if name in _REFUSAL:
        return "refusal"
    return "stop"
