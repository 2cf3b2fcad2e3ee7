"""Streaming from hosted backends on the wire: recorded server-sent events through the
SDK's own HTTP client (a mock transport), and the loopback llama-cpp-python server."""

from __future__ import annotations

import json
from typing import Any

import openai

import extract
from extract import Result, Snapshot
from tests.unit.test_hosted_wire import KEY, NO_WAIT, Person, Server, http


def sse(arguments: list[str], *, content: bool = False, usage: bool = True) -> Any:
    """A streamed chat completion as OpenAI sends it: a role chunk, one chunk per
    argument piece (tool-call deltas, or content deltas), the finish, the usage."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                "model": "gpt-test",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip

    events = [chunk({"role": "assistant", "content": None if not content else ""})]
    for i, piece in enumerate(arguments):
        if content:
            events.append(chunk({"content": piece}))
        else:
            call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            if i == 0:
                call.update(id="call_1", type="function")
                call["function"]["name"] = "Person"
            events.append(chunk({"tool_calls": [call]}))
    events.append(chunk({}, "stop" if content else "tool_calls"))
    if usage:
        events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                       "model": "gpt-test", "choices": [],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}})  # fmt: skip
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return http.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def extractor(server: Server, base_url: str = "https://api.openai.com/v1") -> extract.Extractor:
    client = openai.OpenAI(api_key=KEY, base_url=base_url,
                           http_client=http.Client(transport=http.MockTransport(server)))  # fmt: skip
    return extract.Extractor(client, model="gpt-test", retry=NO_WAIT)


PIECES = ['{"na', 'me": "Ada', ' Lovelace", "a', 'ge": 3', '6, "nickname": null}']


def test_openai_tool_call_deltas_stream_into_snapshots() -> None:
    server = Server(sse(PIECES))
    *snapshots, result = list(extractor(server).stream(Person, "Ada Lovelace is 36."))
    assert isinstance(result, Result) and result.value == Person(name="Ada Lovelace", age=36)
    assert server.bodies[0]["stream"] is True
    assert server.bodies[0]["stream_options"] == {"include_usage": True}
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (10, 7)
    assert all(isinstance(s, Snapshot) for s in snapshots)
    assert ("/name", "Ada") in [s.growing for s in snapshots]
    assert {"name": "Ada Lovelace"} in [s.value for s in snapshots]  # before the age is ended
    assert snapshots[-1].value == {"name": "Ada Lovelace", "age": 36, "nickname": None}


def test_a_retry_over_the_stream_is_announced() -> None:
    bad = ['{"name": "Ada", "age": 999}']
    server = Server(sse(bad), sse(PIECES))
    *snapshots, result = list(extractor(server).stream(Person, "Ada Lovelace is 36."))
    assert len(result.attempts) == 2
    second = [s for s in snapshots if s.attempt == 2]
    assert second and second[0].restarted
    assert second[-1].value["age"] == 36


def test_run_does_not_stream_and_gives_the_same_value() -> None:
    server = Server(sse(PIECES))
    streamed = list(extractor(server).stream(Person, "t"))[-1]
    plain_server = Server(
        {"id": "c", "object": "chat.completion", "created": 0, "model": "gpt-test",
         "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
             "role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "Person", "arguments": "".join(PIECES)}}]}}],
         "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}}
    )  # fmt: skip
    plain = extractor(plain_server).run(Person, "t")
    assert "stream" not in plain_server.bodies[0]
    assert isinstance(streamed, Result) and streamed.value == plain.value


def anthropic_sse(pieces: list[str]) -> Any:
    """A streamed Anthropic message: the forced tool's input as input_json_delta events."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "Person", "input": {}}}),
    ]  # fmt: skip
    for piece in pieces:
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                       "delta": {"type": "input_json_delta", "partial_json": piece}}))  # fmt: skip
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use",
                           "stop_sequence": None}, "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return http.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def test_anthropic_input_json_deltas_stream_into_snapshots() -> None:
    import anthropic

    server = Server(anthropic_sse(PIECES))
    client = anthropic.Anthropic(
        api_key=KEY, http_client=http.Client(transport=http.MockTransport(server))
    )
    ex = extract.Extractor(client, model="claude-test", retry=NO_WAIT)
    *snapshots, result = list(ex.stream(Person, "Ada Lovelace is 36."))
    assert isinstance(result, Result) and result.value == Person(name="Ada Lovelace", age=36)
    assert server.bodies[0]["stream"] is True
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 9)
    assert ("/name", "Ada") in [s.growing for s in snapshots]
    assert {"name": "Ada Lovelace"} in [s.value for s in snapshots]


def test_an_async_openai_client_streams_through_astream() -> None:
    import asyncio

    server = Server(sse(PIECES))
    client = openai.AsyncOpenAI(
        api_key=KEY, http_client=http.AsyncClient(transport=http.MockTransport(server))
    )
    ex = extract.Extractor(client, model="gpt-test", retry=NO_WAIT)

    async def collect() -> list[Any]:
        return [e async for e in ex.astream(Person, "Ada Lovelace is 36.")]

    *snapshots, result = asyncio.run(collect())
    assert isinstance(result, Result) and result.value == Person(name="Ada Lovelace", age=36)
    assert {"name": "Ada Lovelace"} in [s.value for s in snapshots]


# A root that is not an object travels wrapped as {"value": ...}; snapshots show the
# record the user asked for, with its own pointers.
WRAPPED = ['{"value": [{"name": "Ada', ' Lovelace", "age": 36}, {"na', 'me": "Alan", "age": 41}]}']
PEOPLE = [Person(name="Ada Lovelace", age=36), Person(name="Alan", age=41)]


def assert_unwrapped(snapshots: list[Any]) -> None:
    assert snapshots and all(isinstance(s.value, list) for s in snapshots)
    assert ("/0/name", "Ada") in [s.growing for s in snapshots]
    done = snapshots[-1].done
    assert "/0" in done and "/1/age" in done and done[-1] == ""
    assert not any(p.startswith("/value") for s in snapshots for p in s.done)
    assert snapshots[-1].value == [{"name": "Ada Lovelace", "age": 36}, {"name": "Alan", "age": 41}]


def test_a_wrapped_openai_root_streams_with_the_records_pointers() -> None:
    server = Server(sse(WRAPPED))
    *snapshots, result = list(extractor(server).stream(list[Person], "Ada 36, Alan 41."))
    assert isinstance(result, Result) and result.value == PEOPLE
    assert_unwrapped(snapshots)


def test_a_wrapped_anthropic_root_streams_with_the_records_pointers() -> None:
    import anthropic

    server = Server(anthropic_sse(WRAPPED))
    client = anthropic.Anthropic(
        api_key=KEY, http_client=http.Client(transport=http.MockTransport(server))
    )
    ex = extract.Extractor(client, model="claude-test", retry=NO_WAIT)
    *snapshots, result = list(ex.stream(list[Person], "Ada 36, Alan 41."))
    assert isinstance(result, Result) and result.value == PEOPLE
    assert_unwrapped(snapshots)
