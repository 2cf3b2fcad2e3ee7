"""Every provider LiteLLM speaks: ``Extractor("litellm:gemini/gemini-2.5-flash")``.

LiteLLM takes the OpenAI chat-completions format and translates it for each provider
(Anthropic's Messages API, Gemini's generateContent, Bedrock, Ollama, ...), so the
requests are built and the answers read by ``_chat_format``, as for the OpenAI backend.

How the schema reaches the model (the strategies, in order) comes from LiteLLM's own
knowledge of the model (``litellm_profile``): a strict JSON-schema response format
where it supports one, forced tool calls where it supports function calling, JSON mode
where the provider takes ``response_format``, and the prompt last. A 400 on a strategy
before any worked moves on to the next one (LiteLLM raises one itself for a parameter
the provider does not take).

Transport retries are ours (LiteLLM's own are switched off with ``num_retries=0``); each
call is bounded by ``timeout``: an async call as a whole, a blocking one by LiteLLM (each
read). Every LiteLLM exception becomes a ``ProviderFailure``, with any key it holds
redacted. ``Completion.cost`` is LiteLLM's price of the response, None when LiteLLM does
not know the model's price.

``litellm`` is imported lazily. It fetches its price list from the network on import
unless ``LITELLM_LOCAL_MODEL_COST_MAP=True`` is set in the environment (then it uses the
copy it ships).
"""

from __future__ import annotations

import math
import os
from typing import Any
from urllib.parse import urlparse

from ._base import Capabilities, ProviderFailure, ProviderProblem, Request
from ._chat_format import (
    OPTIONAL_FIELDS,
    ChatFormat,
    Profile,
    StrategyFallback,
    chat_exchange,
)
from ._exchange import Exchange, HostedCalls
from ._hosted import Strategy, parse_strategy
from ._openai_stream import Assembled
from ._streamed import acollect, collect
from ._transport import (
    DEFAULT_TIMEOUT_SECONDS,
    RetryPolicy,
    is_seconds,
    problem_for_status,
    redact,
    retry_after_seconds,
    sdk_failure,
    status_failure,
    summary,
)

# Request fields the backend sets itself; each maps to what to pass instead.
RESERVED_OPTIONS = {
    "num_retries": "retry=extract.backends.RetryPolicy(...) (transport retries are ours)",
    "max_retries": "retry=extract.backends.RetryPolicy(...) (transport retries are ours)",
    "messages": "the text to run() or extract()",
    "max_tokens": "max_tokens= to run() or extract()",
    "max_completion_tokens": "max_tokens= to run() or extract()",
    "temperature": "temperature= to run() or extract()",
    "seed": "seed= to run() or extract()",
    "tools": "strategy= (how the schema reaches the model)",
    "tool_choice": "strategy= (how the schema reaches the model)",
    "response_format": "strategy= (how the schema reaches the model)",
    "stream": "Extractor.stream()",
    "stream_options": "Extractor.stream()",
    "n": "one answer per call",
}
# Environment variables whose values are redacted from messages, by name.
_SECRET_NAMES = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


def litellm_profile(litellm: Any, model: str, provider: str | None = None) -> tuple[Profile, str]:
    """The profile of ``model`` from what LiteLLM knows of it, and its provider's name.

    A model in LiteLLM's model map is taken at its word (``supports_response_schema``,
    ``supports_function_calling``); for a model it does not know (a self-hosted one
    behind ``api_base``) the provider's translatable parameters decide, as for an
    unknown OpenAI-compatible server: forced tools, then JSON mode.
    """
    try:
        _, provider, _, _ = litellm.get_llm_provider(model=model, custom_llm_provider=provider)
    except Exception:  # LiteLLM's BadRequestError: no provider it knows
        raise ValueError(
            f"LiteLLM cannot tell which provider serves {model!r}: write it as "
            "'provider/model' (e.g. 'gemini/gemini-2.5-flash') or pass custom_llm_provider=..."
        ) from None
    assert isinstance(provider, str)
    accepted = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider)
    if accepted is None:  # parameters LiteLLM does not map: send only what is needed
        profile = Profile(f"litellm/{provider}", ("prompt",), optional_fields=frozenset())
        return profile, provider
    known = _known_model(litellm, model, provider)
    strategies: list[Strategy] = []
    takes_format = "response_format" in accepted
    if known and takes_format and litellm.supports_response_schema(model, provider):
        strategies.append("json_schema")
    forced_tools = "tools" in accepted and "tool_choice" in accepted
    if forced_tools and (not known or litellm.supports_function_calling(model, provider)):
        strategies.append("tools")
    if takes_format:
        strategies.append("json_object")
    strategies.append("prompt")
    profile = Profile(
        f"litellm/{provider}",
        tuple(strategies),
        parallel_tool_calls_field="parallel_tool_calls" in accepted,
        # A self-hosted server may convert tool schemas as llama-cpp-python does.
        grammar_safe_tools=not known,
        # LiteLLM itself adds the usage to any provider's stream when asked.
        stream_usage=True,
        optional_fields=(frozenset(accepted) & frozenset(OPTIONAL_FIELDS)) | {"stream_options"},
    )
    return profile, provider


def _known_model(litellm: Any, model: str, provider: str) -> bool:
    """Whether the model is in LiteLLM's model map (prices, context, capabilities)."""
    try:
        litellm.get_model_info(model=model, custom_llm_provider=provider)
    except Exception:  # not mapped
        return False
    return True


class LiteLLMBackend(HostedCalls):
    """Chat completions through ``litellm.completion`` and ``litellm.acompletion``.

    ``model`` is any LiteLLM model string (``"gemini/gemini-2.5-flash"``,
    ``"anthropic/claude-haiku-4-5"``, ``"openai/NAME"`` with ``api_base=`` for an
    OpenAI-compatible server); ``strategy`` pins how the schema reaches the model;
    ``timeout`` bounds each call (120 s unless given; None: unbounded). Every other
    keyword (``api_base``, ``api_key``, ``custom_llm_provider``, ``extra_headers``...)
    goes to LiteLLM with each call. ``asynchronous`` is accepted and changes nothing:
    blocking calls use ``litellm.completion``, async ones ``litellm.acompletion``.
    """

    sdk = "LiteLLM"
    is_async = False
    both_ways = True

    def __init__(
        self,
        model: str,
        *,
        strategy: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        asynchronous: bool = False,
        **litellm_options: Any,
    ) -> None:
        import litellm

        if not isinstance(model, str) or not model.strip():
            raise ValueError(
                f"a LiteLLM model string is needed, e.g. 'gemini/gemini-2.5-flash', not {model!r}"
            )
        for name in litellm_options:
            if name in RESERVED_OPTIONS:
                raise ValueError(f"{name}= is set by extract; pass {RESERVED_OPTIONS[name]}")
        if timeout is not None and not (is_seconds(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a number of seconds > 0 or None, not {timeout!r}")
        self._litellm = litellm
        self.model = model
        self._options = dict(litellm_options)
        key = litellm_options.get("api_key")
        self._secret: str | None = key if isinstance(key, str) else None
        hint = litellm_options.get("custom_llm_provider")
        self.profile, self.llm_provider = litellm_profile(litellm, model, hint)
        self._provider = f"litellm/{self.llm_provider}"
        pinned = parse_strategy(strategy) if strategy else None
        self._fallback = StrategyFallback((pinned,) if pinned else self.profile.strategies)
        self._chat = ChatFormat(model, self.profile, provider=self._provider)
        self._images = bool(litellm.supports_vision(model, self.llm_provider))
        self._retry = retry or RetryPolicy()
        self._timeout = float(timeout) if timeout is not None else None
        base = litellm_options.get("api_base") or litellm_options.get("base_url")
        self._host = urlparse(str(base)).hostname if base else None

    @classmethod
    def from_name(cls, model: str, **options: Any) -> LiteLLMBackend:
        """``"litellm:MODEL"``: LiteLLM finds the provider's key in the environment
        (``GEMINI_API_KEY``, ``ANTHROPIC_API_KEY``...) unless ``api_key=`` is given."""
        return cls(model, **options)

    def __repr__(self) -> str:
        return f"LiteLLMBackend({self.name!r})"

    @property
    def name(self) -> str:
        where = f"@{self._host}" if self._host else ""
        return f"litellm:{self.model}{where}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            strategies=self._fallback.strategies, asynchronous=True, images=self._images
        )

    @property
    def strategy(self) -> Strategy:
        """The strategy in use: the first one the provider accepted, else the first to try."""
        return self._fallback.current

    def exchange(self, request: Request) -> Exchange:
        return chat_exchange(request, self._fallback, lambda: self._chat, response_cost)

    def _arguments(self, params: dict[str, Any], seconds: float | None) -> dict[str, Any]:
        """One call's keyword arguments: the request's, the caller's options, ours."""
        arguments = {**self._options, **params, "num_retries": 0, "max_retries": 0}
        arguments.pop("_listener", None)
        if seconds is not None:
            arguments["timeout"] = seconds
        return arguments

    def _create(self, params: dict[str, Any], seconds: float | None) -> Any:
        listener = params.get("_listener")
        response = self._litellm.completion(**self._arguments(params, seconds))
        return response if listener is None else collect(response, PricedStream(listener))

    def _acreate(self, params: dict[str, Any], seconds: float | None) -> Any:
        listener = params.get("_listener")
        made = self._litellm.acompletion(**self._arguments(params, seconds))
        return made if listener is None else acollect(made, PricedStream(listener))

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        """LiteLLM's exception as a ``ProviderFailure``; every one LiteLLM raises is mapped."""
        failure = litellm_failure(exc, self._litellm, self._provider, self._secret)
        return None if failure is None else redacted(failure, self._secrets())

    def _secrets(self) -> list[str]:
        """What a message must not show: the key given, and any key LiteLLM may have
        read from the environment or been given under another name."""
        found = [
            value
            for name, value in self._options.items()
            if isinstance(value, str) and any(s in name.upper() for s in _SECRET_NAMES)
        ]
        found += [
            value for name, value in os.environ.items() if any(s in name for s in _SECRET_NAMES)
        ]
        return found


def litellm_failure(
    exc: BaseException, litellm: Any, provider: str, secret: str | None
) -> ProviderFailure | None:
    """A LiteLLM exception as a ``ProviderFailure``; None if it is not LiteLLM's.

    LiteLLM's exceptions derive from the ``openai`` SDK's, which ``sdk_failure`` maps;
    its ``APIError`` carries the provider's HTTP status without being a status error,
    and a few of its own (budgets, guardrails) stand outside openai's tree.
    """
    failure = _mapped(exc, litellm, provider, secret)
    if failure is None or failure.retry_after is not None:
        return failure
    # A provider's own headers (Retry-After) travel apart from the error's response.
    headers = getattr(exc, "litellm_response_headers", None)
    wait = retry_after_seconds(dict(headers)) if headers else None
    return failure if wait is None else _copy(failure, failure.args[0], retry_after=wait)


def _mapped(
    exc: BaseException, litellm: Any, provider: str, secret: str | None
) -> ProviderFailure | None:
    import openai

    if isinstance(exc, ProviderFailure):
        return exc
    status = getattr(exc, "status_code", None)
    problem: ProviderProblem
    if isinstance(exc, litellm.BudgetExceededError):  # a spending cap: waiting will not help
        problem, retryable = "other", False
    elif isinstance(exc, openai.APIError) and not isinstance(
        exc, (openai.APIStatusError, openai.APIConnectionError, openai.APIResponseValidationError)
    ):
        if isinstance(status, int) and not isinstance(status, bool):
            return status_failure(exc, provider, secret)
        problem, retryable = "other", False
    elif (found := sdk_failure(exc, openai, openai.OpenAIError, provider, secret)) is not None:
        return found
    elif isinstance(exc, Exception) and type(exc).__module__.split(".")[0] == "litellm":
        if isinstance(status, int) and not isinstance(status, bool):
            problem, retryable = problem_for_status(status)
        else:
            problem, retryable = "other", False
    else:
        return None
    return ProviderFailure(
        f"{provider}: {problem}: {summary(exc, secret)}",
        provider=provider,
        problem=problem,
        retryable=retryable,
        status_code=status if isinstance(status, int) and not isinstance(status, bool) else None,
    )


def redacted(failure: ProviderFailure, secrets: list[str]) -> ProviderFailure:
    """``failure`` with none of ``secrets`` in its message (the same failure if none is)."""
    message = str(failure)
    for secret in secrets:
        message = redact(message, secret)
    return failure if message == str(failure) else _copy(failure, message)


def _copy(failure: ProviderFailure, message: str, **changes: Any) -> ProviderFailure:
    fields = {
        "provider": failure.provider,
        "problem": failure.problem,
        "retryable": failure.retryable,
        "status_code": failure.status_code,
        "request_id": failure.request_id,
        "retry_after": failure.retry_after,
        "deadline_exceeded": failure.deadline_exceeded,
    }
    return ProviderFailure(message, **{**fields, **changes})


def response_cost(response: Any) -> float | None:
    """What LiteLLM priced the response at (US dollars), or None where it knows no
    price for the model (it then leaves ``response_cost`` empty)."""
    hidden = getattr(response, "_hidden_params", None)
    cost = hidden.get("response_cost") if isinstance(hidden, dict) else None
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        return float(cost) if math.isfinite(cost) and cost >= 0 else None
    return None


class PricedStream:
    """A streamed answer put back together (``Assembled``), with the price LiteLLM
    gives its last chunk (the one that carries the usage)."""

    def __init__(self, listener: Any) -> None:
        self._assembled = Assembled(listener)
        self._cost: Any = None

    def begin(self) -> None:
        self._cost = None
        self._assembled.begin()

    def add(self, chunk: Any) -> None:
        hidden = getattr(chunk, "_hidden_params", None)
        if isinstance(hidden, dict) and hidden.get("response_cost") is not None:
            self._cost = hidden["response_cost"]
        self._assembled.add(chunk)

    def response(self) -> Any:
        response = self._assembled.response()
        response._hidden_params = {"response_cost": self._cost}
        return response
