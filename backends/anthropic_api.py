"""Anthropic's Messages API: one tool, forced with ``tool_choice``.

The tool's ``input_schema`` is the user's schema (object-rooted; a list or scalar is
wrapped as ``{"value": ...}``); Anthropic does not promise to follow it, so every
constraint is validated after decoding. The ``anthropic`` SDK is imported lazily.
"""

from __future__ import annotations

import inspect
import json
import os
import time
from typing import Any

from ._anthropic_stream import Assembled
from ._base import Capabilities, Completion, FinishReason, Image, Message, ProviderFailure, Request
from ._exchange import Exchange, HostedCalls, read_within
from ._hosted import client_options, plain_schemas, tool_name
from ._streamed import acollect, collect
from ._transport import RetryPolicy, attempt_seconds, call_timeout, sdk_failure


class AnthropicBackend(HostedCalls):
    sdk = "Anthropic"

    """Messages through an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic`` client."""

    def __init__(self, client: Any, model: str, *, retry: RetryPolicy | None = None) -> None:
        import anthropic

        self._anthropic = anthropic
        self.model = model
        self.is_async = isinstance(client, anthropic.AsyncAnthropic)
        self._client = client.with_options(max_retries=0)  # our retry policy, not theirs
        self._secret: str | None = getattr(client, "api_key", None)
        self._retry = retry or RetryPolicy()
        self._timeout = attempt_seconds(client.timeout)  # bounds each whole call
        self._provider = "anthropic"
        self._schemas = plain_schemas()
        # Newer SDKs (and models) take no sampling parameters: send them only if known.
        accepted = inspect.signature(self._client.messages.create).parameters
        self._sampling = "temperature" in accepted

    @classmethod
    def from_name(cls, model: str, **options: Any) -> AnthropicBackend:
        """``"anthropic:MODEL"``: a client from the environment (``ANTHROPIC_API_KEY``).

        ``timeout`` bounds each whole call (request, wait and answer): 120 s
        (``DEFAULT_TIMEOUT_SECONDS``) unless given; ``None`` leaves calls unbounded."""
        import anthropic

        sdk_options, asynchronous = client_options(options)
        if "api_key" not in sdk_options and not os.environ.get("ANTHROPIC_API_KEY"):
            raise anthropic.AnthropicError(
                "no API key: set ANTHROPIC_API_KEY or pass api_key=... to Extractor"
            )
        factory = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        return cls(factory(**sdk_options), model, **options)

    def __repr__(self) -> str:
        return f"AnthropicBackend({self.name!r})"

    @property
    def name(self) -> str:
        return f"anthropic:{self.model}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(strategies=("tools",), asynchronous=True, images=True)

    def exchange(self, request: Request) -> Exchange:
        started = time.perf_counter()
        answer = yield self._params(request)
        if isinstance(answer, ProviderFailure):
            raise answer
        return self._completion(answer, request, time.perf_counter() - started)

    def _create(self, params: dict[str, Any], seconds: float | None) -> Any:
        params = dict(params)
        listener = params.pop("_listener", None)
        if seconds is not None:
            params["timeout"] = call_timeout(self._client.timeout, seconds)
        messages = self._client.messages
        if self.is_async:  # bounded by the caller (``within``)
            made = messages.create(**params)
            return made if listener is None else acollect(made, Assembled(listener))

        def read(response: Any) -> Any:
            parsed = response.parse()
            return parsed if listener is None else collect(parsed, Assembled(listener))

        opened = messages.with_streaming_response.create(**params)
        return read_within(opened, seconds, read, self._provider)

    def _params(self, request: Request) -> dict[str, Any]:
        schema = self._schemas(request.schema)
        name = tool_name(request.schema.json_schema)
        system = "\n".join(m.content for m in request.messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": _messages(request.messages, name),
            "tools": [
                {
                    "name": name,
                    "description": "Record the data extracted from the text.",
                    "input_schema": schema.parameters,
                }
            ],
            "tool_choice": {"type": "tool", "name": name},
        }
        if system:
            params["system"] = system
        if self._sampling:
            params["temperature"] = min(request.temperature, 1.0)
        if request.listener is not None:  # streamed; read back whole by _create
            params["stream"] = True
            params["_listener"] = request.listener
            request.listener.within("/value" if schema.wrapped else "")
        return params

    def _completion(self, response: Any, request: Request, seconds: float) -> Completion:
        schema = self._schemas(request.schema)
        blocks = list(getattr(response, "content", None) or [])
        call = next((b for b in blocks if getattr(b, "type", None) == "tool_use"), None)
        if call is not None:
            text, call_id = json.dumps(call.input, ensure_ascii=False), call.id
        else:
            text = "".join(getattr(b, "text", "") for b in blocks)
            call_id = None
        finish: FinishReason = "stop"
        if response.stop_reason == "max_tokens":
            finish = "length"
        elif response.stop_reason == "refusal":
            finish = "refusal"
        usage = response.usage
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=getattr(usage, "input_tokens", 0) or 0,
            completion_tokens=getattr(usage, "output_tokens", 0) or 0,
            cached_prompt_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
            timings={"request_s": seconds},
            call_id=call_id,
            restore=schema.restore,
            report=schema.report("anthropic (forced tool)"),
        )

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        """The SDK's exception as a ``ProviderFailure``; every ``AnthropicError`` is mapped."""
        sdk = self._anthropic
        return sdk_failure(exc, sdk, sdk.AnthropicError, self._provider, self._secret)


def _image_source(image: Image) -> dict[str, str]:
    return {"type": "base64", "media_type": image.media_type, "data": image.base64()}


def _messages(messages: tuple[Message, ...], name: str) -> list[dict[str, Any]]:
    """Anthropic's turns: the system prompt apart, tool calls and results as blocks."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "assistant" and message.call_id:
            try:
                arguments = json.loads(message.content)
            except ValueError:
                arguments = {}
            block = {"type": "tool_use", "id": message.call_id, "name": name, "input": arguments}
            out.append({"role": "assistant", "content": [block]})
        elif message.role == "tool":
            result = {
                "type": "tool_result",
                "tool_use_id": message.call_id,
                "content": message.content,
                "is_error": True,
            }
            out.append({"role": "user", "content": [result]})
        elif message.images:  # the pages first, then the text, as Anthropic advises
            blocks: list[dict[str, Any]] = [
                {"type": "image", "source": _image_source(image)} for image in message.images
            ]
            blocks.append({"type": "text", "text": message.content})
            out.append({"role": "user", "content": blocks})
        else:
            role = "assistant" if message.role == "assistant" else "user"
            out.append({"role": role, "content": message.content})
    return out
