"""The OpenAI chat-completions format without I/O: the parameters of one request in a
strategy, and the ``Completion`` read back from a response.

The OpenAI backend speaks it through the ``openai`` SDK to OpenAI and compatible
servers; the LiteLLM backend speaks it to every provider LiteLLM translates it for.
What a server accepts is its ``Profile`` (data); ``StrategyFallback`` keeps the first
strategy a server accepted, and ``chat_exchange`` is the request both backends send.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from extract.schemas import ProviderSchema

from ._base import Completion, FinishReason, Message, ProviderFailure, Request, TokenEvidence
from ._exchange import Exchange
from ._hosted import Strategy, grammar_safe_schemas, plain_schemas, strict_schemas, tool_name

# Strategies whose answer is the message content, which token log-probabilities cover
# (a tool call's arguments get none from any server we know).
CONTENT_STRATEGIES: tuple[Strategy, ...] = ("json_schema", "json_object", "prompt")
# Request fields a server may refuse (``Profile.optional_fields``); the rest are needed.
OPTIONAL_FIELDS = ("temperature", "seed", "parallel_tool_calls", "logprobs", "stream_options")

log = logging.getLogger(__name__)


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
    # A streamed answer ends with its usage when asked (``stream_options``).
    stream_usage: bool = False
    # Which of ``OPTIONAL_FIELDS`` it takes; None: all of them.
    optional_fields: frozenset[str] | None = None


class ChatFormat:
    """Requests to and answers from one model in one profile; each schema's provider
    form is worked out once."""

    def __init__(
        self, model: str, profile: Profile, *, provider: str, logprobs: bool = False
    ) -> None:
        self.model = model
        self.profile = profile
        self.provider = provider
        self.logprobs = logprobs
        self._strict = strict_schemas()
        self._plain = grammar_safe_schemas() if profile.grammar_safe_tools else plain_schemas()

    def params(
        self, request: Request, strategy: Strategy
    ) -> tuple[dict[str, Any], ProviderSchema | None]:
        """The request's parameters in ``strategy``, and the provider schema it sends
        (None when the schema travels in the prompt only). A streamed request carries
        its listener as ``_listener``, for the caller to take out."""
        profile = self.profile
        name = tool_name(request.schema.json_schema)
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [chat_message(m, strategy, name) for m in request.messages],
            "temperature": request.temperature,
            profile.max_tokens_field: request.max_tokens,
        }
        if request.seed is not None:
            params["seed"] = request.seed
        if self.logprobs and strategy in CONTENT_STRATEGIES and request.listener is None:
            params["logprobs"] = True
            params["top_logprobs"] = 2  # the runner-up of each token, for its margin
        if request.listener is not None:  # streamed; read back whole by the caller
            params["stream"] = True
            params["_listener"] = request.listener
            if profile.stream_usage:
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
            if profile.parallel_tool_calls_field:
                params["parallel_tool_calls"] = False
        elif strategy == "json_schema":
            assert schema is not None
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema.parameters, "strict": schema.strict},
            }
        elif strategy == "json_object":
            response_format: dict[str, Any] = {"type": "json_object"}
            if profile.json_object_schema:
                assert schema is not None
                response_format["schema"] = schema.parameters
            else:
                schema = None  # the prompt carries the user's schema as is
            params["response_format"] = response_format
        if profile.optional_fields is not None:
            for field in OPTIONAL_FIELDS:
                if field not in profile.optional_fields:
                    params.pop(field, None)
            if "logprobs" not in profile.optional_fields:
                params.pop("top_logprobs", None)
        if request.listener is not None:  # where the record sits in what is streamed
            request.listener.within("/value" if schema is not None and schema.wrapped else "")
        return params, schema

    def completion(
        self,
        response: Any,
        strategy: Strategy,
        schema: ProviderSchema | None,
        seconds: float,
        max_tokens: int,
    ) -> Completion:
        """The answer in a chat completion (or one put back together from a stream)."""
        if not getattr(response, "choices", None):
            raise ProviderFailure(
                f"{self.provider}: bad_response: no choices in the response",
                provider=self.provider,
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
        provider_name = f"{self.provider} ({strategy})"
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


class StrategyFallback:
    """The strategies to try, in order, and the first one the server accepted.

    A 400 before any strategy worked moves on to the next one (the server may not
    implement it); once one worked, only that one is sent.
    """

    def __init__(self, strategies: tuple[Strategy, ...]) -> None:
        self.strategies = strategies
        self.working: Strategy | None = None

    @property
    def current(self) -> Strategy:
        """The first one the server accepted, else the first to try."""
        return self.working or self.strategies[0]

    def candidates(self) -> tuple[Strategy, ...]:
        return (self.working,) if self.working is not None else self.strategies

    def rejected(self, failure: ProviderFailure, strategy: Strategy) -> bool:
        """A 400 before any strategy worked: the server may not implement this one."""
        last = strategy == self.strategies[-1]
        return self.working is None and not last and failure.problem == "bad_request"


def chat_exchange(
    request: Request,
    fallback: StrategyFallback,
    chat: Callable[[], ChatFormat],
    cost: Callable[[Any], float | None] | None = None,
) -> Exchange:
    """One request, strategy by strategy until the server takes one (``HostedCalls``
    drives it). ``chat`` gives the format in force (a server identified on first use
    changes it); ``cost`` reads what a response cost, where the backend knows."""
    for strategy in fallback.candidates():
        started = time.perf_counter()
        chat_format = chat()
        params, schema = chat_format.params(request, strategy)
        answer = yield params
        if isinstance(answer, ProviderFailure):
            if fallback.rejected(answer, strategy):
                log.info(
                    "%s refused the %s strategy (HTTP 400): trying the next",
                    answer.provider,
                    strategy,
                )
                continue
            raise answer
        fallback.working = strategy  # the server takes it: keep it for the next requests
        seconds = time.perf_counter() - started
        completion = chat_format.completion(answer, strategy, schema, seconds, request.max_tokens)
        return completion if cost is None else replace(completion, cost=cost(answer))
    raise AssertionError("unreachable")  # pragma: no cover - the last strategy raises


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


def chat_message(message: Message, strategy: Strategy, name: str) -> dict[str, Any]:
    """One turn in the chat format; a re-ask answers the tool call when tools are used."""
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
