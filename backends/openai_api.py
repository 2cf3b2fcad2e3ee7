"""OpenAI and OpenAI-compatible servers (llama.cpp, llama-cpp-python, vLLM, Ollama).

How the schema reaches the model is a strategy, chosen from the server's profile (data,
below), and the first one the server accepts is kept: a server that answers a strategy
with HTTP 400 is tried with the next. The ``openai`` SDK is imported lazily.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from extract.schemas import ProviderSchema

from ._base import (
    Capabilities,
    Completion,
    FinishReason,
    Message,
    ProviderFailure,
    Request,
    TokenEvidence,
)
from ._exchange import Exchange, HostedCalls, read_within, within
from ._hosted import (
    Strategy,
    client_options,
    grammar_safe_schemas,
    parse_strategy,
    plain_schemas,
    strict_schemas,
    tool_name,
)
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
# Strategies whose answer is the message content, which token log-probabilities cover
# (a tool call's arguments get none from any server we know).
CONTENT_STRATEGIES: tuple[Strategy, ...] = ("json_schema", "json_object", "prompt")


@dataclass(frozen=True)
class Profile:
    """What one kind of server accepts."""

    name: str
    strategies: tuple[Strategy, ...]
    # llama-cpp-python's server turns a schema inside a json_object response_format
    # into a grammar; OpenAI rejects the extra key.
    json_object_schema: bool = False
    max_tokens_field: str = "max_tokens"
    parallel_tool_calls_field: bool = False
    # Tool and json_object schemas with patterns respelled for llama-cpp-python's grammar
    # converter (its server crashes on a grammar that does not parse).
    grammar_safe_tools: bool = False


PROFILES: dict[str, Profile] = {
    "openai": Profile(
        "openai",
        ("tools_strict", "json_schema", "tools", "prompt"),
        max_tokens_field="max_completion_tokens",
        parallel_tool_calls_field=True,
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
        self._use_profile(PROFILES[chosen])
        # A server behind a base_url is identified on first use; profile= always wins.
        self._unidentified = profile is None and chosen == "openai-compatible"
        self._port = url.port
        self._identifying = threading.Lock()
        self._working: Strategy | None = None
        self._retry = retry or RetryPolicy()
        self._timeout = attempt_seconds(client.timeout)  # bounds each whole call
        self._provider = provider
        self._host = host
        self._strict = strict_schemas()

    def _use_profile(self, profile: Profile) -> None:
        self.profile = profile
        strategies = (self._pinned,) if self._pinned else profile.strategies
        if self._logprobs:  # content first (a stable sort keeps the profile's order)
            strategies = tuple(sorted(strategies, key=lambda s: s not in CONTENT_STRATEGIES))
        self._strategies: tuple[Strategy, ...] = strategies
        self._plain = grammar_safe_schemas() if profile.grammar_safe_tools else plain_schemas()

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
        return Capabilities(strategies=self._strategies, asynchronous=True, images=True)

    @property
    def strategy(self) -> Strategy:
        """The strategy in use: the first one the server accepted, else the first to try."""
        return self._working or self._strategies[0]

    def _prepare(self, deadline: Deadline) -> None:
        self.identify(deadline)

    async def _aprepare(self, deadline: Deadline) -> None:
        await self.aidentify(deadline)

    def exchange(self, request: Request) -> Exchange:
        for strategy in self._candidates():
            started = time.perf_counter()
            params, schema = self._params(request, strategy)
            answer = yield params
            if isinstance(answer, ProviderFailure):
                if self._rejected_strategy(answer, strategy):
                    continue
                raise answer
            return self._accepted(answer, strategy, schema, started, request)
        raise AssertionError("unreachable")  # pragma: no cover - the last strategy raises

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

    # -- requests ---------------------------------------------------------------

    def _accepted(
        self,
        response: Any,
        strategy: Strategy,
        schema: ProviderSchema | None,
        started: float,
        request: Request,
    ) -> Completion:
        self._working = strategy  # the server takes it: keep it for the next requests
        seconds = time.perf_counter() - started
        return self._completion(response, strategy, schema, seconds, request.max_tokens)

    def _candidates(self) -> tuple[Strategy, ...]:
        if self._working is not None:
            return (self._working,)
        return self._strategies

    def _rejected_strategy(self, failure: ProviderFailure, strategy: Strategy) -> bool:
        """A 400 before any strategy worked: the server may not implement this one."""
        last = strategy == self._strategies[-1]
        return self._working is None and not last and failure.problem == "bad_request"

    def _params(
        self, request: Request, strategy: Strategy
    ) -> tuple[dict[str, Any], ProviderSchema | None]:
        name = tool_name(request.schema.json_schema)
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [_message(m, strategy, name) for m in request.messages],
            "temperature": request.temperature,
            self.profile.max_tokens_field: request.max_tokens,
        }
        if request.seed is not None:
            params["seed"] = request.seed
        if self._logprobs and strategy in CONTENT_STRATEGIES and request.listener is None:
            params["logprobs"] = True
            params["top_logprobs"] = 2  # the runner-up of each token, for its margin
        if request.listener is not None:  # streamed; read back whole by _create
            params["stream"] = True
            params["_listener"] = request.listener
            if self.profile.name == "openai":
                params["stream_options"] = {"include_usage": True}
        schema: ProviderSchema | None = None
        if strategy in ("tools_strict", "json_schema"):
            schema = self._strict(request.schema)
        elif strategy in ("tools", "json_object"):
            schema = self._plain(request.schema)
        if strategy in ("tools_strict", "tools"):
            assert schema is not None
            function: dict[str, Any] = {
                "name": name,
                "description": "Record the data extracted from the text.",
                "parameters": schema.parameters,
            }
            if strategy == "tools_strict":
                function["strict"] = schema.strict
            params["tools"] = [{"type": "function", "function": function}]
            params["tool_choice"] = {"type": "function", "function": {"name": name}}
            if self.profile.parallel_tool_calls_field:
                params["parallel_tool_calls"] = False
        elif strategy == "json_schema":
            assert schema is not None
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema.parameters, "strict": schema.strict},
            }
        elif strategy == "json_object":
            response_format: dict[str, Any] = {"type": "json_object"}
            if self.profile.json_object_schema:
                assert schema is not None
                response_format["schema"] = schema.parameters
            else:
                schema = None  # the prompt carries the user's schema as is
            params["response_format"] = response_format
        if request.listener is not None:  # where the record sits in what is streamed
            request.listener.within("/value" if schema is not None and schema.wrapped else "")
        return params, schema

    # -- responses --------------------------------------------------------------

    def _completion(
        self,
        response: Any,
        strategy: Strategy,
        schema: ProviderSchema | None,
        seconds: float,
        max_tokens: int,
    ) -> Completion:
        if not getattr(response, "choices", None):
            raise ProviderFailure(
                f"{self._provider}: bad_response: no choices in the response",
                provider=self._provider,
                problem="bad_response",
                retryable=False,
            )
        choice = response.choices[0]
        message = choice.message
        usage = response.usage
        completion_tokens = (usage.completion_tokens or 0) if usage else 0
        finish: FinishReason = "stop"
        # Some servers say "tool_calls" even when the budget ran out: count tokens too.
        if choice.finish_reason == "length" or completion_tokens >= max_tokens:
            finish = "length"
        elif choice.finish_reason == "content_filter" or getattr(message, "refusal", None):
            finish = "refusal"
        text = message.content or ""
        call_id = None
        if message.tool_calls:
            call = message.tool_calls[0]
            text, call_id = call.function.arguments or "", call.id
        if finish == "refusal":
            text = getattr(message, "refusal", None) or text or "(content filtered)"
        cached = 0
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        if details is not None:
            cached = getattr(details, "cached_tokens", 0) or 0
        provider_name = f"{self._provider} ({strategy})"
        evidence = () if call_id is not None else token_evidence(getattr(choice, "logprobs", None))
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
            completion_tokens=completion_tokens,
            cached_prompt_tokens=cached,
            timings={"request_s": seconds},
            call_id=call_id,
            restore=schema.restore if schema is not None else None,
            report=schema.report(provider_name) if schema is not None else None,
            evidence=evidence if finish == "stop" else (),
            within="/value" if schema is not None and schema.wrapped else "",
        )

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        """The SDK's exception as a ``ProviderFailure``; every ``OpenAIError`` is mapped."""
        sdk = self._openai
        return sdk_failure(exc, sdk, sdk.OpenAIError, self._provider, self._secret)


def token_evidence(logprobs: Any) -> tuple[TokenEvidence, ...]:
    """The answer's tokens as evidence, from a chat completion's ``logprobs``: OpenAI's
    ``content`` list, or the ``tokens``/``token_logprobs`` lists of older servers.

    All or nothing: a token without a log-probability would read as one the grammar
    forced (sure), so then there is no evidence at all.
    """
    if logprobs is None:
        return ()
    content = _field(logprobs, "content")
    if isinstance(content, list):
        tokens = [
            (
                _field(t, "token"),
                _field(t, "bytes"),
                _field(t, "logprob"),
                _field(t, "top_logprobs"),
            )
            for t in content
        ]
    else:  # the completions API's shape, which some compatible servers use for chat
        texts, chosen = _field(logprobs, "tokens"), _field(logprobs, "token_logprobs")
        tops = _field(logprobs, "top_logprobs") or [None] * len(texts or ())
        if not (isinstance(texts, list) and isinstance(chosen, list)):
            return ()
        if not (len(texts) == len(chosen) == len(tops)):
            return ()
        tokens = [(t, None, lp, top) for t, lp, top in zip(texts, chosen, tops, strict=True)]
    evidence = []
    for text, raw, logprob, top in tokens:
        if not isinstance(text, str) or not _is_logprob(logprob):
            return ()
        size = len(raw) if isinstance(raw, list) else len(text.encode("utf-8", "surrogatepass"))
        evidence.append(TokenEvidence(size, math.exp(logprob), _runner_up(text, top)))
    return tuple(evidence)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _is_logprob(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value <= 0.0


def _runner_up(chosen: str, top: Any) -> float:
    """The probability of the likeliest other token: a list of ``{token, logprob}``
    (OpenAI) or a ``{token: logprob}`` map (the completions API)."""
    if isinstance(top, dict):
        pairs = list(top.items())
    elif isinstance(top, list):
        pairs = [(_field(t, "token"), _field(t, "logprob")) for t in top]
    else:
        return 0.0
    others = [math.exp(lp) for token, lp in pairs if token != chosen and _is_logprob(lp)]
    return max(others, default=0.0)


def _message(message: Message, strategy: Strategy, name: str) -> dict[str, Any]:
    tools = strategy in ("tools_strict", "tools")
    if message.role == "tool" and not tools:
        return {"role": "user", "content": message.content}
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.call_id, "content": message.content}
    if message.role == "assistant" and message.call_id and tools:
        call = {
            "id": message.call_id,
            "type": "function",
            "function": {"name": name, "arguments": message.content},
        }
        # Content as well as the call: some servers' chat templates need a string.
        return {"role": "assistant", "content": message.content, "tool_calls": [call]}
    if message.images:  # text then the pages, as image parts (data URLs)
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        for image in message.images:
            url = f"data:{image.media_type};base64,{image.base64()}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return {"role": message.role, "content": parts}
    return {"role": message.role, "content": message.content}
