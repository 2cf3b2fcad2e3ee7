"""LiteLLM on the wire: recorded answers of providers whose wire format is not OpenAI's
(Gemini's generateContent, Anthropic's Messages API), served on 127.0.0.1 with LiteLLM's
``api_base`` pointed there. LiteLLM translates our chat-format request into each
provider's own and parses the provider's real body back, so each test sees what the
provider would be sent and what LiteLLM makes of its answer.

``tests/conftest.py`` keeps LiteLLM offline (its shipped price list, no fetches).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract.backends import Message, ProviderFailure, Request, RetryPolicy
from extract.backends._chat_format import ChatFormat, Profile
from extract.backends.litellm_api import LiteLLMBackend, litellm_profile
from extract.schemas import compile_schema

# LiteLLM's own modules, imported on its first call, warn about their own types.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"
)

KEY = "sk-test-0123456789abcdef"
NO_WAIT = RetryPolicy(base_seconds=0.0, seed=0)
GEMINI = "gemini/gemini-2.5-flash"
CLAUDE = "anthropic/claude-haiku-4-5"


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    nickname: str = "none"  # optional and never null: a strict null must be dropped


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a JSON value, or the text of an event stream
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class Wire:
    """A provider on 127.0.0.1: scripted replies in order, every request kept."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.seen: list[Seen] = []
        wire = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(size) or b"null")
                headers = {k.lower(): v for k, v in self.headers.items()}
                wire.seen.append(Seen(self.path, headers, body))
                reply = wire.replies.pop(0) if wire.replies else Reply(599, {"error": "unscripted"})
                streamed = isinstance(reply.body, str)
                data = reply.body.encode() if streamed else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header(
                    "content-type", "text/event-stream" if streamed else "application/json"
                )
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Wire] = []

    def start(*replies: Reply) -> Wire:
        servers.append(Wire(list(replies)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def extractor(wire: Wire, model: str = GEMINI, **options: Any) -> extract.Extractor:
    options.setdefault("retry", NO_WAIT)
    return extract.Extractor(f"litellm:{model}", api_base=wire.url, api_key=KEY, **options)


def price(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    info = litellm.get_model_info(model)
    return float(
        info["input_cost_per_token"] * prompt_tokens
        + info["output_cost_per_token"] * completion_tokens
    )


# -- recorded answers -------------------------------------------------------------------


def gemini(text: str, *, finish: str = "STOP") -> Reply:
    """A generateContent answer."""
    return Reply(
        body={
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": finish,
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 5,
                "totalTokenCount": 15,
            },
            "modelVersion": "gemini-2.5-flash",
        }
    )


def gemini_call(arguments: dict[str, Any]) -> Reply:
    """A generateContent answer that calls the function."""
    return Reply(
        body={
            "candidates": [
                {
                    "content": {
                        "parts": [{"functionCall": {"name": "Person", "args": arguments}}],
                        "role": "model",
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 5,
                "totalTokenCount": 15,
            },
        }
    )


def claude(
    tool_input: dict[str, Any] | None = None,
    *,
    text: str = "",
    model: str = "claude-haiku-4-5",
    stop: str = "tool_use",
) -> Reply:
    """A Messages API answer: a tool_use block, or text."""
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    if tool_input is not None:
        content.append({"type": "tool_use", "id": "toolu_1", "name": "Person", "input": tool_input})
    return Reply(
        body={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }
    )


def gemini_error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"error": {"code": status, "message": message, "status": "ERROR"}}
    return Reply(status, body, headers or {})


def claude_error(status: int, message: str) -> Reply:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    return Reply(status, body)


# -- Gemini: a JSON schema response format ------------------------------------------------


def test_gemini_gets_the_strict_schema_and_the_answer_is_typed_and_priced(serve: Any) -> None:
    wire = serve(gemini('{"name": "Ada", "age": 36, "nickname": null}'))
    ex = extractor(wire)
    result = ex.run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)  # the null stood for "omitted"
    assert result.model == "litellm:gemini/gemini-2.5-flash@127.0.0.1"
    assert ex.backend.strategy == "json_schema"  # type: ignore[attr-defined]
    [seen] = wire.seen
    assert seen.path == "/models/gemini-2.5-flash:generateContent"
    assert seen.headers["x-goog-api-key"] == KEY
    config = seen.body["generationConfig"]
    assert config["response_mime_type"] == "application/json"
    schema = config["response_json_schema"]
    assert schema["required"] == ["name", "age", "nickname"]
    assert schema["additionalProperties"] is False
    assert config["max_output_tokens"] == 512
    assert seen.body["system_instruction"]["parts"][0]["text"].startswith("You extract")
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (10, 5)
    assert result.usage.cost == pytest.approx(price(GEMINI, 10, 5))
    assert result.usage.cost > 0


def test_gemini_bad_answer_is_asked_again_with_the_validation_errors(serve: Any) -> None:
    wire = serve(
        gemini('{"name": "Ada", "age": "old", "nickname": null}'),
        gemini('{"name": "Ada", "age": 36, "nickname": "ada"}'),
    )
    result = extractor(wire).run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36, nickname="ada")
    assert [a.ok for a in result.attempts] == [False, True]
    first, second = (s.body["contents"] for s in wire.seen)
    assert second[: len(first)] == first  # the first request's turns, not mutated
    answer, reask = second[len(first) :]
    assert answer["role"] == "model" and '"old"' in answer["parts"][0]["text"]
    assert reask["role"] == "user" and "/age" in reask["parts"][0]["text"]
    assert result.usage.cost == pytest.approx(2 * price(GEMINI, 10, 5))


def test_gemini_forced_function_call(serve: Any) -> None:
    wire = serve(gemini_call({"name": "Ada", "age": 36}))
    ex = extractor(wire, strategy="tools")
    assert ex.extract(Person, "Ada is 36.") == Person(name="Ada", age=36)
    body = wire.seen[0].body
    [tool] = body["tools"]
    assert tool["function_declarations"][0]["name"] == "Person"
    assert body["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY",
        "allowed_function_names": ["Person"],
    }


def test_a_streamed_answer_reaches_the_listener_and_is_priced(serve: Any) -> None:
    pieces = ['{"name": "A', 'da", "age": 36', ', "nickname": null}']
    events = [
        {"candidates": [{"content": {"parts": [{"text": p}], "role": "model"}, "index": 0}]}
        for p in pieces
    ]
    events.append(
        {
            "candidates": [
                {"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": "STOP"}
            ],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
        }
    )
    stream = "".join(f"data: {json.dumps(e)}\r\n\r\n" for e in events)
    wire = serve(Reply(body=stream))
    *snapshots, result = list(extractor(wire).stream(Person, "Ada is 36."))
    assert isinstance(result, extract.Result) and result.value == Person(name="Ada", age=36)
    assert len(snapshots) >= 2 and all(isinstance(s, extract.Snapshot) for s in snapshots)
    assert wire.seen[0].path.endswith(":streamGenerateContent?alt=sse")
    assert result.usage.completion_tokens == 5
    assert result.usage.cost == pytest.approx(price(GEMINI, 10, 5))


def test_async_extraction_goes_through_acompletion(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = litellm.acompletion

    async def counted(**kwargs: Any) -> Any:
        calls.append(kwargs["model"])
        return await original(**kwargs)

    monkeypatch.setattr(litellm, "acompletion", counted)
    wire = serve(
        gemini('{"name": "Ada", "age": 36, "nickname": null}'),
        gemini('{"name": "Bob", "age": 7, "nickname": null}'),
    )
    ex = extractor(wire)

    async def both() -> list[Person]:
        return [await ex.aextract(Person, "Ada is 36."), await ex.aextract(Person, "Bob, 7.")]

    assert asyncio.run(both()) == [Person(name="Ada", age=36), Person(name="Bob", age=7)]
    assert calls == [GEMINI, GEMINI]


# -- Anthropic: strategy fallback, forced tool, re-ask ---------------------------------


def test_a_strategy_answered_with_400_falls_back_and_the_next_one_is_kept(serve: Any) -> None:
    wire = serve(
        claude_error(400, "output_format: structured outputs are not supported here"),
        claude({"name": "Ada", "age": 36}),
        claude({"name": "Bob", "age": 7}),
    )
    ex = extractor(wire, CLAUDE)
    assert ex.backend.capabilities.strategies == ("json_schema", "tools", "json_object", "prompt")
    assert ex.extract(Person, "Ada is 36.") == Person(name="Ada", age=36)
    assert ex.extract(Person, "Bob is 7.") == Person(name="Bob", age=7)
    first, second, third = (s.body for s in wire.seen)
    assert all(s.path == "/v1/messages" for s in wire.seen)
    assert first["output_format"]["type"] == "json_schema" and "tools" not in first
    assert second["tool_choice"] == {
        "type": "tool",
        "name": "Person",
        "disable_parallel_tool_use": True,  # our parallel_tool_calls=False, translated
    }
    assert second["tools"][0]["input_schema"]["required"] == ["name", "age"]
    assert "output_format" not in second
    assert third["tool_choice"] == second["tool_choice"]  # remembered
    assert ex.backend.strategy == "tools"  # type: ignore[attr-defined]


def test_anthropic_tool_reask_answers_the_tool_call(serve: Any) -> None:
    wire = serve(claude({"name": "Ada", "age": -1}), claude({"name": "Ada", "age": 36}))
    result = extractor(wire, CLAUDE, strategy="tools").run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)
    call, answer = wire.seen[1].body["messages"][-2:]
    assert call["role"] == "assistant"
    assert any(b["type"] == "tool_use" and b["id"] == "toolu_1" for b in call["content"])
    [block] = [b for b in answer["content"] if b["type"] == "tool_result"]
    assert block["tool_use_id"] == "toolu_1" and "/age" in json.dumps(block["content"])
    assert result.usage.cost == pytest.approx(2 * price(CLAUDE, 12, 7))


def test_the_cost_is_none_where_litellm_knows_no_price(serve: Any) -> None:
    model = "anthropic/claude-not-a-released-model"
    wire = serve(claude({"name": "Ada", "age": 36}, model="claude-not-a-released-model"))
    ex = extractor(wire, model)
    assert ex.backend.capabilities.strategies == ("tools", "json_object", "prompt")
    result = ex.run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)
    assert result.usage.total_tokens == 19 and result.usage.cost is None


# -- transport: our retries, our errors -------------------------------------------------


def test_429_and_500_are_retried_by_our_policy_alone(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("extract.backends._transport.time.sleep", waits.append)
    wire = serve(
        gemini_error(429, "quota", {"retry-after": "1.5"}),
        gemini_error(500, "internal"),
        gemini('{"name": "Ada", "age": 36, "nickname": null}'),
    )
    result = extractor(wire, retry=RetryPolicy(base_seconds=0.25, seed=1)).run(Person, "Ada")
    assert result.value.age == 36 and len(result.attempts) == 1
    assert len(wire.seen) == 3  # LiteLLM retried nothing itself
    assert waits[0] == 1.5  # the server's Retry-After, honoured
    assert 0.0 <= waits[1] <= 0.5  # jittered backoff: retry 1 -> up to 0.25 * 2


@pytest.mark.parametrize(
    ("status", "problem", "retryable", "requests"),
    [(401, "authentication", False, 1), (404, "not_found", False, 1), (500, "server", True, 5)],
)
def test_failures_end_in_a_provider_error_without_the_key(
    serve: Any, status: int, problem: str, retryable: bool, requests: int
) -> None:
    wire = serve(*[gemini_error(status, f"refused for key {KEY}")] * 5)
    with pytest.raises(extract.ProviderError) as caught:
        extractor(wire).run(Person, "Ada")
    error = caught.value
    assert (error.problem, error.retryable, error.status_code) == (problem, retryable, status)
    assert error.provider == "litellm/gemini"
    assert len(wire.seen) == requests
    assert KEY not in str(error) and KEY not in repr(error)


def test_a_server_that_is_not_there_is_a_retryable_failure() -> None:
    ex = extract.Extractor(
        f"litellm:{GEMINI}", api_base="http://127.0.0.1:9", api_key=KEY, retry=NO_WAIT
    )
    with pytest.raises(extract.ProviderError) as caught:
        ex.run(Person, "Ada")
    assert caught.value.retryable and caught.value.problem in ("connection", "server")


# -- strategies from LiteLLM's knowledge ------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (GEMINI, ("json_schema", "tools", "json_object", "prompt")),
        (CLAUDE, ("json_schema", "tools", "json_object", "prompt")),
        # Unknown to LiteLLM: the provider's translatable parameters decide.
        ("openai/my-local-model", ("tools", "json_object", "prompt")),
        ("ollama/llama3", ("json_object", "prompt")),  # Ollama takes no tool_choice
    ],
)
def test_strategies_come_from_what_litellm_knows(model: str, expected: tuple[str, ...]) -> None:
    profile, provider = litellm_profile(litellm, model)
    assert profile.strategies == expected
    assert provider == model.split("/")[0]
    accepted = litellm.get_supported_openai_params(model) or []
    assert ("json_object" in expected) == ("response_format" in accepted)
    if "json_schema" in expected:
        assert litellm.supports_response_schema(model)
        assert litellm.supports_function_calling(model)


def test_a_pinned_strategy_and_options_reach_litellm(serve: Any) -> None:
    wire = serve(gemini('{"name": "Ada", "age": 36}'))
    ex = extractor(wire, strategy="json_object", extra_headers={"x-trace": "t-1"}, timeout=30)
    assert ex.backend.capabilities.strategies == ("json_object",)
    assert ex.backend._timeout == 30.0  # type: ignore[attr-defined]
    assert ex.extract(Person, "Ada is 36.") == Person(name="Ada", age=36)
    [seen] = wire.seen
    assert seen.headers["x-trace"] == "t-1"
    config = seen.body["generationConfig"]
    assert config["response_mime_type"] == "application/json"
    assert "response_json_schema" not in config and "response_schema" not in config


def test_fields_a_provider_does_not_take_are_left_out_of_the_request() -> None:
    request = Request(
        messages=(Message("user", "Ada is 36."),),
        schema=compile_schema(Person),
        seed=7,
    )
    profile = Profile("p", ("json_object",), optional_fields=frozenset({"temperature"}))
    params, schema = ChatFormat("m", profile, provider="p").params(request, "json_object")
    assert schema is None
    assert params == {
        "model": "m",
        "messages": [{"role": "user", "content": "Ada is 36."}],
        "temperature": 0.0,
        "max_tokens": 512,
        "response_format": {"type": "json_object"},
    }
    everything = Profile("p", ("json_object",))
    params, _ = ChatFormat("m", everything, provider="p").params(request, "json_object")
    assert params["seed"] == 7


# -- every LiteLLM exception is mapped --------------------------------------------------


def _litellm_exception_classes() -> list[type[BaseException]]:
    module = litellm.exceptions
    return [
        obj
        for name in dir(module)
        if isinstance(obj := getattr(module, name), type)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    ]


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance made through the class's own constructor, its message holding KEY."""
    request = httpx.Request("POST", "https://api.example/v1")
    known: dict[str, Any] = {
        "message": f"boom {KEY}",
        "model": "m",
        "llm_provider": "gemini",
        "status_code": 500,
        "response": httpx.Response(500, request=request),
        "request": request,
        "current_cost": 2.0,
        "max_budget": 1.0,
        "entity_type": "EMAIL",
        "raw_response": "{}",
        "schema": "{}",
        "route_to_model": "local",
        "session_id": "s",
        "request_data": {},
        "failures": [],
    }
    arguments: dict[str, Any] = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is parameter.empty or name == "message":
            arguments[name] = known[name]
    return cls(**arguments)


def test_every_litellm_exception_is_mapped(serve: Any) -> None:
    backend = extractor(serve()).backend
    classes = _litellm_exception_classes()
    assert len(classes) >= 25
    exported = [c for c in classes if getattr(litellm, c.__name__, None) is c]
    assert len(exported) >= 20  # the ones ``litellm`` itself exports are among them
    for cls in classes:
        failure = backend._failure(_instance(cls))  # type: ignore[attr-defined]
        assert isinstance(failure, ProviderFailure), cls
        assert failure.provider == "litellm/gemini", cls
        assert KEY not in str(failure), cls
        status = failure.status_code
        if issubclass(cls, litellm.BudgetExceededError):
            assert not failure.retryable, cls  # waiting does not raise a budget
        elif status == 429 or (status or 0) >= 500:
            assert failure.retryable, cls
        elif status is not None and status not in (408, 409):
            assert not failure.retryable, cls
    assert backend._failure(KeyError("not LiteLLM's")) is None  # type: ignore[attr-defined]


def test_status_errors_keep_their_status_and_retry_after() -> None:
    response = httpx.Response(
        429, headers={"retry-after": "2"}, request=httpx.Request("POST", "https://x")
    )
    error = litellm.RateLimitError("slow down", "gemini", "m", response=response)
    failure = LiteLLMBackend(GEMINI, api_key=KEY)._failure(error)
    assert failure is not None
    assert (failure.problem, failure.retryable, failure.retry_after) == ("rate_limit", True, 2.0)
    api_error = litellm.APIError(503, "overloaded", "gemini", "m")
    failure = LiteLLMBackend(GEMINI, api_key=KEY)._failure(api_error)
    assert failure is not None and (failure.problem, failure.status_code) == ("server", 503)


def test_keys_from_the_environment_are_redacted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "gem-env-secret-0123456789"
    monkeypatch.setenv("GEMINI_API_KEY", secret)
    failure = LiteLLMBackend(GEMINI)._failure(
        litellm.AuthenticationError(f"bad key {secret}", "gemini", "m")
    )
    assert failure is not None and failure.problem == "authentication"
    assert secret not in str(failure) and "***" in str(failure)


# -- model strings ----------------------------------------------------------------------


def test_litellm_options_of_ours_are_refused_with_what_to_pass_instead() -> None:
    with pytest.raises(extract.UsageError, match="retry="):
        extract.Extractor(f"litellm:{GEMINI}", num_retries=3)
    with pytest.raises(extract.UsageError, match="strategy="):
        extract.Extractor(f"litellm:{GEMINI}", response_format={"type": "json_object"})
    with pytest.raises(extract.UsageError, match="provider/model"):
        extract.Extractor("litellm:no-provider-knows-this-model")
    with pytest.raises(extract.UsageError, match="unknown strategy"):
        extract.Extractor(f"litellm:{GEMINI}", strategy="telepathy")


def test_instructor_provider_strings_pick_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from extract.backends.anthropic_api import AnthropicBackend
    from extract.backends.openai_api import OpenAIBackend

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    openai_ex = extract.Extractor("openai/gpt-4o-mini")
    assert isinstance(openai_ex.backend, OpenAIBackend)
    assert openai_ex.backend.name == "openai:gpt-4o-mini"
    anthropic_ex = extract.Extractor("anthropic/claude-haiku-4-5")
    assert isinstance(anthropic_ex.backend, AnthropicBackend)
    assert anthropic_ex.backend.name == "anthropic:claude-haiku-4-5"
    gemini_ex = extract.Extractor(GEMINI)
    assert isinstance(gemini_ex.backend, LiteLLMBackend)
    assert gemini_ex.backend.name == f"litellm:{GEMINI}"
    assert "ollama" in {str(getattr(p, "value", p)) for p in litellm.provider_list}
    assert isinstance(extract.Extractor("ollama/llama3").backend, LiteLLMBackend)


def _no_hosted_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a path was taken for a hosted model")

    monkeypatch.setattr("extract.api._extractor._hosted_backend", refuse)


def test_an_existing_file_of_that_name_stays_a_model_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gemini").mkdir()
    (tmp_path / "gemini" / "weights").write_bytes(b"not a GGUF file")
    _no_hosted_backend(monkeypatch)
    with pytest.raises(extract.ModelLoadError) as caught:
        extract.Extractor("gemini/weights")  # read as a model file, which this is not
    assert "litellm" not in str(caught.value).lower()


def test_a_prefix_that_names_no_provider_is_a_missing_model_path_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_hosted_backend(monkeypatch)
    for name in ("no-such-provider/model", "models/x.gguf"):
        with pytest.raises(extract.ModelLoadError) as caught:
            extract.Extractor(name)
        assert "litellm" not in str(caught.value).lower()


def test_without_litellm_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # `import litellm` now fails
    for name in (f"litellm:{GEMINI}", GEMINI):
        with pytest.raises(extract.ModelLoadError, match=r"structured-extract\[litellm\]"):
            extract.Extractor(name)


@given(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and not s.endswith(".gguf")))
def test_provider_strings_parse_by_their_prefix_alone(name: str) -> None:
    from extract.api._extractor import _provider_model

    assert _provider_model(f"openai/{name}") == ("openai", name)
    assert _provider_model(f"anthropic/{name}") == ("anthropic", name)
    assert _provider_model(f"gemini/{name}") == ("litellm", f"gemini/{name}")
    assert _provider_model(f"no-such-provider/{name}") is None
    assert _provider_model(f"Gemini/{name}") is None  # providers are lower case
    assert _provider_model(f"gemini/{name}.gguf") is None  # a model file's name
    if "/" not in name:
        assert _provider_model(name) is None
