"""Hosted backends on the wire: hand-written OpenAI and Anthropic responses.

Each test serves responses through the SDK's own HTTP client with a mock transport,
so the official ``openai``/``anthropic`` clients parse real HTTP bodies and raise
their real exceptions. Every case ends in a typed value or in the right error.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import json
import types
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel, Field

import extract
from extract.backends import ProviderFailure
from extract.backends._transport import RetryPolicy, retry_after_seconds

try:  # the HTTP library the installed SDKs are built on
    import httpx2 as http
except ImportError:  # pragma: no cover - older SDKs
    import httpx as http  # type: ignore[no-redef]

KEY = "sk-test-0123456789abcdef"
NO_WAIT = RetryPolicy(base_seconds=0.0, seed=0)


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    nickname: str = "none"  # optional and never null: a strict null must be dropped


Reply = dict[str, Any] | Any  # a JSON body, an http Response, or an exception to raise


class Server:
    """Serves scripted replies in order and keeps every request body."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> Any:
        self.bodies.append(json.loads(request.content))
        if not self.replies:
            raise AssertionError("the client made more requests than scripted")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, dict):
            return http.Response(200, json=reply, headers={"x-request-id": "req_ok"})
        return reply


def chat(
    arguments: str | None = None,
    *,
    content: str | None = None,
    finish: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if arguments is not None:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "Person", "arguments": arguments},
            }
        ]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-test",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def status(code: int, headers: dict[str, str] | None = None) -> Any:
    body = {"error": {"message": f"status {code}", "type": "error"}}
    return http.Response(code, json=body, headers={"x-request-id": "req_bad", **(headers or {})})


def openai_extractor(
    server: Server, base_url: str = "https://api.openai.com/v1", **options: Any
) -> extract.Extractor:
    client = openai.OpenAI(
        api_key=KEY,
        base_url=base_url,
        http_client=http.Client(transport=http.MockTransport(server)),
    )
    return extract.Extractor(client, model="gpt-test", retry=NO_WAIT, **options)


def test_a_valid_strict_tool_call_is_typed_and_the_request_is_strict() -> None:
    server = Server(chat('{"name": "Ada", "age": 36, "nickname": null}'))
    result = openai_extractor(server).run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)  # the null stood for "omitted"
    assert result.model == "openai:gpt-test"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (10, 5)
    body = server.bodies[0]
    function = body["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["name", "age", "nickname"]
    assert function["parameters"]["additionalProperties"] is False
    assert body["tool_choice"] == {"type": "function", "function": {"name": function["name"]}}
    assert body["parallel_tool_calls"] is False
    assert body["max_completion_tokens"] == 512
    assert "provider" in result.report.render() or result.report.enforced


def test_malformed_arguments_are_repaired_without_a_retry() -> None:
    server = Server(chat("{'name': 'Ada', 'age': 36, 'nickname': null,}"))
    result = openai_extractor(server).run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)
    assert len(result.attempts) == 1


def test_wrong_types_are_quoted_back_as_a_tool_result() -> None:
    server = Server(
        chat('{"name": "Ada", "age": "old", "nickname": null}'),
        chat('{"name": "Ada", "age": 36, "nickname": "ada"}'),
    )
    result = openai_extractor(server).run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36, nickname="ada")
    assert [a.ok for a in result.attempts] == [False, True]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (20, 10)
    first, second = server.bodies
    reask = second["messages"][len(first["messages"]) :]
    assert reask[0]["role"] == "assistant" and reask[0]["tool_calls"][0]["id"] == "call_1"
    assert reask[1]["role"] == "tool" and reask[1]["tool_call_id"] == "call_1"
    assert "age" in reask[1]["content"]
    assert second["messages"][: len(first["messages"])] == first["messages"]  # not mutated


def test_a_refusal_stops_at_once_with_the_reason() -> None:
    server = Server(chat(refusal="I can't help with that."))
    with pytest.raises(extract.ExtractionError, match="refused") as caught:
        openai_extractor(server).run(Person, "text")
    assert len(caught.value.attempts) == 1 and caught.value.attempts[0].refused
    assert len(server.bodies) == 1


def test_truncation_is_retried_with_a_bigger_budget() -> None:
    server = Server(chat('{"name": "Ada", "ag', finish="length"), chat('{"name":"Ada","age":1}'))
    result = openai_extractor(server).run(Person, "text", max_tokens=20)
    assert result.value.age == 1
    assert result.attempts[0].truncated
    assert [b["max_completion_tokens"] for b in server.bodies] == [20, 40]


def test_429_waits_as_retry_after_asks_and_costs_no_model_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("extract.backends._transport.time.sleep", waits.append)
    server = Server(
        status(429, {"retry-after": "1.5"}), status(503), chat('{"name":"Ada","age":1}')
    )
    extractor = openai_extractor(server)
    extractor.backend._retry = RetryPolicy(base_seconds=0.25, seed=1)  # type: ignore[attr-defined]
    result = extractor.run(Person, "text")
    assert len(result.attempts) == 1 and len(server.bodies) == 3
    assert waits[0] == 1.5  # honoured
    assert 0.0 <= waits[1] <= 0.5  # jittered exponential backoff: retry 1 -> up to 0.25 * 2


@pytest.mark.parametrize(
    ("reply", "problem", "retryable", "requests"),
    [
        (status(500), "server", True, 5),
        (status(401), "authentication", False, 1),
        (status(404), "not_found", False, 1),
        (http.ReadTimeout("slow"), "timeout", True, 5),
        (http.ConnectError("refused"), "connection", True, 5),
    ],
)
def test_transport_failures_end_in_a_provider_error(
    reply: Any, problem: str, retryable: bool, requests: int
) -> None:
    server = Server(*([reply] * 5))
    with pytest.raises(extract.ProviderError) as caught:
        openai_extractor(server).run(Person, "text")
    error = caught.value
    assert (error.problem, error.retryable, error.provider) == (problem, retryable, "openai")
    assert len(server.bodies) == requests
    if isinstance(reply, http.Response):
        assert error.status_code == reply.status_code
        assert error.request_id == "req_bad"
    assert KEY not in str(error) and KEY not in repr(error)


def test_a_body_that_is_not_json_is_a_bad_response() -> None:
    server = Server(http.Response(200, text="<html>gateway</html>"))
    with pytest.raises(extract.ProviderError) as caught:
        openai_extractor(server).run(Person, "text")
    assert caught.value.problem == "bad_response" and not caught.value.retryable


def test_a_list_root_is_wrapped_for_the_tool_and_unwrapped_after() -> None:
    server = Server(chat('{"value": [{"name": "Ada", "age": 36, "nickname": null}]}'))
    people = openai_extractor(server).extract(list[Person], "Ada is 36.")
    assert people == [Person(name="Ada", age=36)]
    parameters = server.bodies[0]["tools"][0]["function"]["parameters"]
    assert list(parameters["properties"]) == ["value"]


def test_a_compatible_server_that_rejects_a_strategy_gets_the_next_one() -> None:
    server = Server(
        status(400),  # no forced tools here
        chat(content='{"name": "Ada", "age": 36}'),
        chat(content='{"name": "Bob", "age": 7}'),
    )
    extractor = openai_extractor(server, base_url="http://127.0.0.1:9/v1")
    assert extractor.backend.name == "openai:gpt-test@127.0.0.1"
    assert extractor.extract(Person, "Ada").name == "Ada"
    assert extractor.extract(Person, "Bob").name == "Bob"
    first, second, third = server.bodies
    assert "tools" in first and "strict" not in first["tools"][0]["function"]
    assert second["response_format"] == {"type": "json_object"} and "tools" not in second
    assert third["response_format"] == {"type": "json_object"}  # remembered
    assert second["max_tokens"] == 512  # the compatible servers' field name


def test_the_key_never_appears_in_reprs_or_errors() -> None:
    extractor = openai_extractor(Server(status(401)))
    assert KEY not in repr(extractor) and KEY not in repr(extractor.backend)
    with pytest.raises(extract.ProviderError) as caught:
        extractor.run(Person, "text")
    assert KEY not in str(caught.value)


def test_hosted_names_need_a_key_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(extract.ModelLoadError, match="OPENAI_API_KEY"):
        extract.Extractor("openai:gpt-test")
    with pytest.raises(extract.ModelLoadError, match="ANTHROPIC_API_KEY"):
        extract.Extractor("anthropic:claude-test")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    extractor = extract.Extractor("openai:gpt-test")
    assert extractor.backend.name == "openai:gpt-test" and KEY not in repr(extractor)
    with pytest.raises(extract.UsageError, match="model="):
        extract.Extractor(openai.OpenAI(api_key=KEY))


def test_async_client_end_to_end_and_cancellation_closes_the_request() -> None:
    seen: dict[str, bool] = {"cancelled": False}

    async def handler(request: Any) -> Any:
        body = json.loads(request.content)
        if body["messages"][-1]["content"] == "hang":
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                seen["cancelled"] = True
                raise
        return http.Response(200, json=chat('{"name":"Ada","age":36}'))

    client = openai.AsyncOpenAI(
        api_key=KEY,
        base_url="https://api.openai.com/v1",
        http_client=http.AsyncClient(transport=http.MockTransport(handler)),
    )
    extractor = extract.Extractor(client, model="gpt-test", retry=NO_WAIT)

    async def scenario() -> None:
        assert (await extractor.aextract(Person, "Ada")).age == 36
        task = asyncio.create_task(extractor.aextract(Person, "hang"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert seen["cancelled"]


# -- Anthropic ----------------------------------------------------------------------


def message(
    tool_input: dict[str, Any] | None = None, *, stop: str = "tool_use", text: str = ""
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    if tool_input is not None:
        content.append({"type": "tool_use", "id": "toolu_1", "name": "Person", "input": tool_input})
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }


def anthropic_extractor(server: Server) -> extract.Extractor:
    client = anthropic.Anthropic(
        api_key=KEY, http_client=http.Client(transport=http.MockTransport(server))
    )
    return extract.Extractor(client, model="claude-test", retry=NO_WAIT)


def test_anthropic_forced_tool_reask_and_overload() -> None:
    server = Server(
        status(529),  # overloaded: retried by the transport
        message({"name": "Ada", "age": -1}),
        message({"name": "Ada", "age": 36}),
    )
    result = anthropic_extractor(server).run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)
    assert result.model == "anthropic:claude-test"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (24, 14)
    first = server.bodies[1]
    assert first["tool_choice"] == {"type": "tool", "name": "Person"}
    assert first["system"].startswith("You extract structured data")
    assert all(m["role"] != "system" for m in first["messages"])
    reask = server.bodies[2]["messages"][-2:]
    assert reask[0]["content"][0]["type"] == "tool_use"
    assert reask[1]["content"][0]["type"] == "tool_result"
    assert reask[1]["content"][0]["tool_use_id"] == "toolu_1"
    assert reask[1]["content"][0]["is_error"] is True


def test_anthropic_max_tokens_and_refusal() -> None:
    server = Server(
        message(None, stop="max_tokens", text='{"name": "A'), message({"name": "A", "age": 2})
    )
    result = anthropic_extractor(server).run(Person, "text", max_tokens=16)
    assert result.attempts[0].truncated and result.value.age == 2
    assert [b["max_tokens"] for b in server.bodies] == [16, 32]
    with pytest.raises(extract.ExtractionError, match="refused"):
        anthropic_extractor(Server(message(None, stop="refusal", text="No."))).run(Person, "x")


# -- every vendor exception is mapped ---------------------------------------------


def _exception_classes(module: Any, base: type) -> list[type[BaseException]]:
    return [
        obj
        for name in dir(module)
        if isinstance(obj := getattr(module, name), type)
        and issubclass(obj, base)
        and not name.startswith("_")
    ]


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance built through the class's own constructor, whatever it asks for."""
    request = http.Request("POST", "https://api.example/v1")
    code = getattr(cls, "status_code", None)
    response = http.Response(code if isinstance(code, int) else 500, request=request)
    known = {
        "message": "boom",
        "request": request,
        "response": response,
        "body": None,
        "completion": types.SimpleNamespace(usage=None),  # LengthFinishReasonError's
        "unsent_messages": [],  # WebSocketConnectionClosedError's
    }
    arguments: dict[str, Any] = {}
    positional: list[Any] = []
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is not parameter.empty and name not in known:
            continue
        value = known.get(name)
        if parameter.kind == parameter.POSITIONAL_ONLY:
            positional.append(value)
        else:
            arguments[name] = value
    return cls(*positional, **arguments)


@pytest.mark.parametrize(
    ("module_name", "base_name", "make"),
    [
        ("openai", "OpenAIError", lambda: openai_extractor(Server()).backend),
        ("anthropic", "AnthropicError", lambda: anthropic_extractor(Server()).backend),
    ],
)
def test_every_vendor_exception_is_mapped(
    module_name: str, base_name: str, make: Callable[[], Any]
) -> None:
    module = {"openai": openai, "anthropic": anthropic}[module_name]
    backend = make()
    classes = _exception_classes(module, getattr(module, base_name))
    assert len(classes) >= 10
    for cls in classes:
        failure = backend._failure(_instance(cls))
        assert isinstance(failure, ProviderFailure), cls
        status_code = getattr(failure, "status_code", None)
        if status_code == 429 or (status_code or 0) >= 500:
            assert failure.retryable, cls
        elif status_code is not None and status_code < 500 and status_code not in (408, 409):
            assert not failure.retryable, cls
    assert backend._failure(KeyError("not ours")) is None


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds({"retry-after": date}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds(None) is None


def test_a_spent_budget_is_truncation_whatever_the_finish_reason_says() -> None:
    # llama-cpp-python's server reports "tool_calls" for a tool call cut off at max_tokens.
    server = Server(
        chat('{"name": "Ada", "ag', finish="tool_calls"), chat('{"name":"Ada","age":1}')
    )
    result = openai_extractor(server).run(Person, "text", max_tokens=5)  # 5 tokens used
    assert result.attempts[0].truncated
    assert [b["max_completion_tokens"] for b in server.bodies] == [5, 10]


def scanned_pdf() -> Any:
    """A two-page PDF whose first page has text and the second is a picture."""
    from PIL import Image

    out = io.BytesIO()
    pages = [Image.new("RGB", (300, 200), "white"), Image.new("RGB", (300, 200), "gray")]
    pages[0].save(out, "PDF", resolution=72, save_all=True, append_images=pages[1:])
    return out.getvalue()


def test_page_images_go_as_openai_image_parts_and_anthropic_image_blocks() -> None:
    pytest.importorskip("pypdfium2")
    from extract.features.documents import Document

    pdf = scanned_pdf()
    document = Document("Ada is 36.", "pdf", "a.pdf", source=pdf)
    server = Server(chat('{"name": "Ada", "age": 36, "nickname": null}'))
    result = openai_extractor(server).run(Person, document, images="pages")
    assert result.value == Person(name="Ada", age=36)
    [user] = [m for m in server.bodies[0]["messages"] if m["role"] == "user"]
    text, *images = user["content"]
    assert text == {"type": "text", "text": "Ada is 36."}
    assert len(images) == 2 and all(p["type"] == "image_url" for p in images)
    url = images[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).startswith(b"\x89PNG")

    png = base64.b64decode(url.split(",", 1)[1])
    server = Server(message({"name": "Ada", "age": 36}))
    anthropic_extractor(server).run(Person, "Ada is 36.", images=[png])
    [user] = server.bodies[0]["messages"]
    image, text = user["content"]
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                  "data": base64.b64encode(png).decode()}}  # fmt: skip
    assert text == {"type": "text", "text": "Ada is 36."}


def test_images_are_refused_where_they_cannot_go() -> None:
    from extract.features.documents import Document
    from extract.testing import ScriptedBackend

    local = extract.Extractor(ScriptedBackend(['{"name": "Ada", "age": 36}']))
    with pytest.raises(extract.UsageError, match="reads no images"):
        local.run(Person, "Ada is 36.", images=[b"\x89PNG\r\n\x1a\n"])
    with pytest.raises(extract.UsageError, match="PNG or JPEG"):
        local.run(Person, "Ada is 36.", images=[b"GIF89a"])
    with pytest.raises(extract.UsageError, match=r"extract\.Document"):
        local.run(Person, "Ada is 36.", images="pages")
    with pytest.raises(extract.UsageError, match="needs a PDF or an image"):
        local.run(Person, Document("Ada is 36.", "html", source=b"<p>Ada</p>"), images="pages")
