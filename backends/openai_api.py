"""OpenAI and OpenAI-compatible servers (llama.cpp, llama-cpp-python, vLLM, Ollama).

How the schema reaches the model is a strategy, chosen from the server's profile (data,
below), and the first one the server accepts is kept: a server that answers a strategy
with HTTP 400 is tried with the next. The ``openai`` SDK is imported lazily.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any
from urllib.parse import urlparse

from ._base import Capabilities, ProviderFailure, Request
from ._chat_format import CONTENT_STRATEGIES, ChatFormat, Profile, StrategyFallback, chat_exchange
from ._chat_format import token_evidence as token_evidence  # where it was first defined
from ._exchange import Exchange, HostedCalls, read_within, within
from ._hosted import Strategy, client_options, parse_strategy
from ._openai_stream import Assembled
from ._server_kind import profile_from_models
from ._streamed import acollect, collect
from ._transport import (
    NO_DEADLINE,
    Deadline,
    RetryPolicy,
    attempt_seconds,
    call_timeout,
    sdk_failure,
)

PROBE_SECONDS = 10.0  # GET /models, at most (and never longer than the timeout)


PROFILES: dict[str, Profile] = {
    "openai": Profile(
        "openai",
        ("tools_strict", "json_schema", "tools", "prompt"),
        max_tokens_field="max_completion_tokens",
        parallel_tool_calls_field=True,
        stream_usage=True,
    ),
    # Forced tools are what most compatible servers implement; json_object next.
    # An unknown server may convert schemas the way llama-cpp-python does: the safe
    # spelling costs nothing elsewhere.
    "openai-compatible": Profile(
        "openai-compatible", ("tools", "json_object", "prompt"), grammar_safe_tools=True
    ),
    # Rejects response_format json_schema; accepts forced tools and json_object + schema.
    "llama-cpp-python": Profile(
        "llama-cpp-python",
        ("tools", "json_object", "prompt"),
        json_object_schema=True,
        grammar_safe_tools=True,
    ),
    "llama.cpp": Profile("llama.cpp", ("json_schema", "json_object", "prompt")),
    "vllm": Profile("vllm", ("json_schema", "tools", "prompt")),
    "ollama": Profile("ollama", ("json_schema", "tools", "json_object", "prompt")),
}


class OpenAIBackend(HostedCalls):
    sdk = "OpenAI"

    """Chat completions through an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client."""

    def __init__(
        self,
        client: Any,
        model: str,
        *,
        profile: str | None = None,
        strategy: str | None = None,
        retry: RetryPolicy | None = None,
        provider: str = "openai",
        logprobs: bool = False,
    ) -> None:
        """``logprobs=True``: ask for the answer's token log-probabilities, so that
        each value gets a confidence (``Result.confidence``) as from a local model; the
        strategies whose answer is the message content are then tried first."""
        import openai

        self._openai = openai
        self.model = model
        self.is_async = isinstance(client, openai.AsyncOpenAI)
        # One retry policy, ours: the SDK's own retries would hide waits and double them.
        self._client = client.with_options(max_retries=0)
        self._secret: str | None = getattr(client, "api_key", None)
        url = urlparse(str(client.base_url))
        host = url.hostname or ""
        chosen = profile or ("openai" if host == "api.openai.com" else "openai-compatible")
        if chosen not in PROFILES:
            raise ValueError(f"unknown profile {chosen!r}; known: {', '.join(PROFILES)}")
        self._pinned = parse_strategy(strategy) if strategy else None
        self._logprobs = logprobs
        self._provider = provider
        self._use_profile(PROFILES[chosen])
        # A server behind a base_url is identified on first use; profile= always wins.
        self._unidentified = profile is None and chosen == "openai-compatible"
        self._port = url.port
        self._identifying = threading.Lock()
        self._retry = retry or RetryPolicy()
        self._timeout = attempt_seconds(client.timeout)  # bounds each whole call
        self._host = host

    def _use_profile(self, profile: Profile) -> None:
        self.profile = profile
        strategies = (self._pinned,) if self._pinned else profile.strategies
        if self._logprobs:  # content first (a stable sort keeps the profile's order)
            strategies = tuple(sorted(strategies, key=lambda s: s not in CONTENT_STRATEGIES))
        self._fallback = StrategyFallback(strategies)
        self._chat = ChatFormat(
            self.model, profile, provider=self._provider, logprobs=self._logprobs
        )

    def _identified(self, answer: Any) -> None:
        """Switch to the profile the server's model list names, if it names one."""
        try:
            body = answer.http_response.json()
            headers = dict(answer.headers)
        except Exception:  # identifying is best effort: any doubt, stay generic
            return
        found = profile_from_models(body, headers, self._port)
        if found is not None:
            self._use_profile(PROFILES[found])

    def _probe_seconds(self, deadline: Deadline) -> float | None:
        """How long ``GET /models`` may take: ``PROBE_SECONDS``, cut to the timeout and
        to what the deadline leaves; None when it leaves nothing (no probe then)."""
        seconds = deadline.bound(
            min(PROBE_SECONDS, self._timeout or PROBE_SECONDS), time.monotonic()
        )
        return seconds if seconds else None

    def _list_models(self, seconds: float) -> Any:
        """``GET /models``, once, short and not retried: the answer, or a coroutine of it."""
        self._unidentified = False
        models = self._client.models
        timeout = call_timeout(self._client.timeout, seconds)
        if self.is_async:
            return within(seconds, models.with_raw_response.list(timeout=timeout), self._provider)

        def read(response: Any) -> Any:
            response.read()
            return response

        opened = models.with_streaming_response.list(timeout=timeout)
        return read_within(opened, seconds, read, self._provider)

    def identify(self, deadline: Deadline = NO_DEADLINE) -> None:
        """Ask the server once which kind it is (``GET /models``); no answer changes nothing."""
        with self._identifying:  # threads of one batch wait for the first one's answer
            if not self._unidentified or (seconds := self._probe_seconds(deadline)) is None:
                return
            try:
                answer = self._list_models(seconds)
            except Exception:  # a server without /models is a generic server
                return
            self._identified(answer)

    async def aidentify(self, deadline: Deadline = NO_DEADLINE) -> None:
        if not self._unidentified or (seconds := self._probe_seconds(deadline)) is None:
            return
        try:
            answer = await self._list_models(seconds)
        except Exception:  # a server without /models is a generic server
            return
        self._identified(answer)

    @classmethod
    def from_name(cls, model: str, **options: Any) -> OpenAIBackend:
        """``"openai:MODEL"``: a client from the environment (``OPENAI_API_KEY``...).

        ``timeout`` bounds each whole call (request, wait and answer): 120 s
        (``DEFAULT_TIMEOUT_SECONDS``) unless given; ``None`` leaves calls unbounded."""
        import openai

        sdk_options, asynchronous = client_options(options)
        if "api_key" not in sdk_options and not os.environ.get("OPENAI_API_KEY"):
            if "base_url" not in sdk_options:
                raise openai.OpenAIError(
                    "no API key: set OPENAI_API_KEY or pass api_key=... to Extractor"
                )
            sdk_options["api_key"] = "not-needed"  # local servers ignore it
        factory = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        return cls(factory(**sdk_options), model, **options)

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.name!r})"

    @property
    def name(self) -> str:
        where = "" if self.profile.name == "openai" else f"@{self._host}"
        return f"{self._provider}:{self.model}{where}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(strategies=self._fallback.strategies, asynchronous=True, images=True)

    @property
    def strategy(self) -> Strategy:
        """The strategy in use: the first one the server accepted, else the first to try."""
        return self._fallback.current

    def _prepare(self, deadline: Deadline) -> None:
        self.identify(deadline)

    async def _aprepare(self, deadline: Deadline) -> None:
        await self.aidentify(deadline)

    def exchange(self, request: Request) -> Exchange:
        return chat_exchange(request, self._fallback, lambda: self._chat)

    def _create(self, params: dict[str, Any], seconds: float | None) -> Any:
        params = dict(params)
        listener = params.pop("_listener", None)
        if seconds is not None:
            params["timeout"] = call_timeout(self._client.timeout, seconds)
        completions = self._client.chat.completions
        if self.is_async:  # bounded by the caller (``within``)
            made = completions.create(**params)
            return made if listener is None else acollect(made, Assembled(listener))

        def read(response: Any) -> Any:
            parsed = response.parse()
            return parsed if listener is None else collect(parsed, Assembled(listener))

        opened = completions.with_streaming_response.create(**params)
        return read_within(opened, seconds, read, self._provider)

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        """The SDK's exception as a ``ProviderFailure``; every ``OpenAIError`` is mapped."""
        sdk = self._openai
        return sdk_failure(exc, sdk, sdk.OpenAIError, self._provider, self._secret)
