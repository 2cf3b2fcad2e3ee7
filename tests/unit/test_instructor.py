"""Clients built by instructor: our loop in charge, whichever provider instructor reaches.

OpenAI and Anthropic clients are served by a mock HTTP transport (the SDKs parse real
bodies); ``from_litellm`` stands for every other provider: instructor calls the given
completion function, which here returns provider-shaped responses.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import instructor
import openai
import pytest
from pydantic import BaseModel, Field

import extract
from extract.backends.instructor_api import InstructorBackend, read_response
from extract.backends.openai_api import OpenAIBackend

from .test_hosted_wire import KEY, NO_WAIT, Person, Server, chat, http, message


class Scripted:
    """A completion function (litellm's shape) that replays responses and keeps calls."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply


def openai_shaped(content: str, finish: str = "stop") -> Any:
    """A real ``openai`` ChatCompletion object, as litellm's responses look."""
    body = chat(content=content, finish=finish)
    return openai.types.chat.ChatCompletion.model_validate(body)


def litellm_extractor(completion: Any, **options: Any) -> extract.Extractor:
    return extract.Extractor(instructor.from_litellm(completion), model="m", **options)


@pytest.mark.parametrize(
    ("mode", "base_url", "expect"),
    [
        (instructor.Mode.TOOLS, "https://api.openai.com/v1", "tools_strict"),
        (instructor.Mode.JSON, "http://127.0.0.1:9/v1", "json_object"),
        (instructor.Mode.MD_JSON, "http://127.0.0.1:9/v1", "prompt"),
    ],
)
def test_an_instructor_openai_client_runs_on_our_openai_backend(
    mode: instructor.Mode, base_url: str, expect: str
) -> None:
    reply = chat(content='{"name":"Ada","age":36}')
    if expect == "tools_strict":
        reply = chat('{"name":"Ada","age":36,"nickname":null}')
    server = Server(reply)
    client = openai.OpenAI(
        api_key=KEY,
        base_url=base_url,
        http_client=http.Client(transport=http.MockTransport(server)),
    )
    extractor = extract.Extractor(instructor.from_openai(client, mode=mode), model="gpt-test")
    assert isinstance(extractor.backend, OpenAIBackend)
    assert extractor.backend.strategy == expect
    assert extractor.run(Person, "Ada is 36.").value == Person(name="Ada", age=36)
    body = server.bodies[0]
    assert ("tools" in body) == (expect == "tools_strict")
    assert ("response_format" in body) == (expect == "json_object")


def test_an_instructor_anthropic_client_forces_the_tool() -> None:
    server = Server(message({"name": "Ada", "age": 36}))
    client = anthropic.Anthropic(
        api_key=KEY, http_client=http.Client(transport=http.MockTransport(server))
    )
    extractor = extract.Extractor(instructor.from_anthropic(client), model="claude-test")
    assert extractor.run(Person, "Ada is 36.").value == Person(name="Ada", age=36)
    assert server.bodies[0]["tool_choice"]["type"] == "tool"


def test_any_other_provider_goes_through_instructor_with_our_reask() -> None:
    completion = Scripted(
        openai_shaped('```json\n{"name": "Ada", "age": "thirty-six"}\n```'),
        openai_shaped('{"name": "Ada", "age": 36}'),
    )
    result = litellm_extractor(completion).run(Person, "Ada is 36.", max_tokens=100)
    assert result.value == Person(name="Ada", age=36)
    assert [a.ok for a in result.attempts] == [False, True]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (20, 10)
    assert result.model == "instructor/openai:m"
    assert not result.report.enforced  # the schema was only in the prompt
    first, second = completion.calls
    assert first["model"] == "m" and first["max_tokens"] == 100
    assert "response_model" not in first  # instructor took it: nothing validated there
    assert (
        first["messages"][0]["role"] == "system"
        and "JSON Schema" in first["messages"][0]["content"]
    )
    assert second["messages"][: len(first["messages"])] == first["messages"]
    reask = second["messages"][len(first["messages"]) :]
    assert [m["role"] for m in reask] == ["assistant", "user"]
    assert "age" in reask[1]["content"]


def test_create_kwargs_replace_the_sampling_options() -> None:
    completion = Scripted(openai_shaped('{"name": "Ada", "age": 36}'))
    extractor = litellm_extractor(completion, create_kwargs={"max_output_tokens": 64})
    extractor.run(Person, "Ada is 36.")
    assert set(completion.calls[0]) == {"model", "messages", "max_output_tokens"}


def test_truncation_from_any_provider_gets_a_bigger_budget() -> None:
    completion = Scripted(
        openai_shaped('{"name": "Ad', finish="length"), openai_shaped('{"name":"Ada","age":1}')
    )
    result = litellm_extractor(completion).run(Person, "text", max_tokens=20)
    assert result.attempts[0].truncated and result.value.age == 1
    assert [c["max_tokens"] for c in completion.calls] == [20, 40]


class RateLimited(Exception):
    status_code = 429


@pytest.mark.parametrize(
    ("error", "problem", "retryable", "calls"),
    [
        (RateLimited("slow down"), "rate_limit", True, 5),
        (TimeoutError("read timed out"), "timeout", True, 5),
        (ConnectionResetError("reset"), "connection", True, 5),
        (ValueError("unknown model"), "other", False, 1),
    ],
)
def test_provider_exceptions_become_provider_errors(
    monkeypatch: pytest.MonkeyPatch, error: Exception, problem: str, retryable: bool, calls: int
) -> None:
    monkeypatch.setattr("extract.backends._transport.time.sleep", lambda _: None)
    completion = Scripted(*([error] * 5))
    with pytest.raises(extract.ProviderError) as caught:
        litellm_extractor(completion).run(Person, "text")
    assert (caught.value.problem, caught.value.retryable) == (problem, retryable)
    assert caught.value.provider == "instructor/openai"
    assert len(completion.calls) == calls


def test_a_transient_failure_then_success_costs_no_model_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("extract.backends._transport.time.sleep", lambda _: None)
    completion = Scripted(RateLimited("busy"), openai_shaped('{"name":"Ada","age":1}'))
    result = litellm_extractor(completion).run(Person, "text")
    assert len(result.attempts) == 1 and len(completion.calls) == 2


def test_a_response_of_unknown_shape_is_a_bad_response() -> None:
    completion = Scripted(object())
    with pytest.raises(extract.ProviderError, match="cannot read text") as caught:
        litellm_extractor(completion).run(Person, "text")
    assert caught.value.problem == "bad_response"


def test_async_instructor_clients_are_awaited() -> None:
    seen: list[str] = []

    async def acompletion(**kwargs: Any) -> Any:
        seen.append(kwargs["messages"][-1]["content"])
        await asyncio.sleep(0)
        return openai_shaped('{"name":"Ada","age":36}')

    client = instructor.from_litellm(acompletion)
    assert isinstance(client, instructor.AsyncInstructor)
    extractor = extract.Extractor(client, model="m")

    async def both() -> list[Person]:
        return list(await asyncio.gather(*(extractor.aextract(Person, t) for t in "ab")))

    assert asyncio.run(both()) == [Person(name="Ada", age=36)] * 2
    assert sorted(seen) == ["a", "b"]


def test_an_sdk_client_without_a_model_is_a_usage_error() -> None:
    client = openai.OpenAI(api_key=KEY, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(extract.UsageError, match="model="):
        extract.Extractor(instructor.from_openai(client))


def test_without_a_model_the_clients_own_default_is_used() -> None:
    completion = Scripted(openai_shaped('{"name":"Ada","age":1}'))
    extractor = extract.Extractor(instructor.from_litellm(completion))
    assert extractor.extract(Person, "Ada, 1") == Person(name="Ada", age=1)
    assert "model" not in completion.calls[0] and extractor.backend.name.endswith(":default")


class Contact(BaseModel):
    name: str
    email: str = Field(pattern=r"^\S+@\S+$")


_TEXT = '{"name": "Ada", "email": "ada@example.org"}'


@pytest.mark.parametrize(
    ("response", "finish", "tokens"),
    [
        (openai_shaped(_TEXT), "stop", (10, 5)),
        (chat(content=_TEXT, finish="length"), "length", (10, 5)),
        (
            anthropic.types.Message.model_validate(
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-test",
                    "content": [{"type": "text", "text": _TEXT}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 7, "output_tokens": 3},
                }
            ),
            "stop",
            (7, 3),
        ),
        (  # Cohere v2 chat, as JSON
            {
                "message": {"role": "assistant", "content": [{"type": "text", "text": _TEXT}]},
                "finish_reason": "MAX_TOKENS",
                "usage": {"tokens": {"input_tokens": 4, "output_tokens": 9}},
            },
            "length",
            (4, 9),
        ),
        (  # Gemini generateContent, as JSON (the SDK's .text joins the parts)
            {
                "text": _TEXT,
                "candidates": [{"finish_reason": "SAFETY"}],
                "usage_metadata": {"prompt_token_count": 6, "candidates_token_count": 2},
            },
            "refusal",
            (6, 2),
        ),
        (_TEXT, "stop", (0, 0)),
    ],
)
def test_provider_response_shapes_are_read(response: Any, finish: str, tokens: Any) -> None:
    assert read_response(response) == (_TEXT, finish, *tokens)


def test_the_backend_can_be_built_directly_with_a_retry_policy() -> None:
    completion = Scripted(openai_shaped(json.dumps({"name": "Ada", "email": "a@b"})))
    backend = InstructorBackend(instructor.from_litellm(completion), "m", retry=NO_WAIT)
    assert extract.Extractor(backend).extract(Contact, "Ada, a@b") == Contact(
        name="Ada", email="a@b"
    )
