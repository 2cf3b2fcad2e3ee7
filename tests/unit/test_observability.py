"""Logging, hooks and OpenTelemetry spans: what an extraction tells as it goes.

The spans are read from OpenTelemetry's own in-memory exporter; the hosted calls go
through the official openai client over a mock transport, so a 429 is a real
transport retry.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

import extract
from extract.backends import Completion
from extract.backends._transport import RetryPolicy
from extract.testing import ScriptedBackend

try:  # the HTTP library the installed SDK is built on
    import httpx2 as http
except ImportError:  # pragma: no cover - older SDKs
    import httpx as http  # type: ignore[no-redef]

SECRET = "Zebulon Quartermaine"  # document text that must never reach an INFO log


class Person(BaseModel):
    name: str
    age: int


def answer(age: Any, prompt: int = 40, completion: int = 9) -> Completion:
    raw = json.dumps({"name": SECRET, "age": age})
    return Completion(raw, "stop", prompt_tokens=prompt, completion_tokens=completion)


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """One tracer provider for the process (OpenTelemetry allows one), spans kept."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    return memory


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


def test_info_logs_say_why_an_attempt_was_rejected_and_never_the_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    extractor = extract.Extractor(ScriptedBackend([answer("old"), answer(31)]))
    with caplog.at_level(logging.INFO, logger="extract"):
        result = extractor.run(Person, f"{SECRET} is 31.")
    assert result.value.age == 31
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(
        "attempt 1 rejected (invalid, 1 error(s), 40+9 tokens); retrying" in m for m in infos
    )
    assert any("valid after 2 attempt(s), 98 tokens" in m for m in infos)
    assert all(SECRET not in m and "old" not in m for m in infos)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert not debug  # DEBUG was not asked for
    caplog.clear()
    extractor = extract.Extractor(ScriptedBackend([answer("old"), answer(31)]))
    with caplog.at_level(logging.DEBUG, logger="extract"):
        extractor.run(Person, "x")
    assert any("attempt 1 errors" in r.getMessage() for r in caplog.records)


def test_hooks_are_told_every_attempt_and_the_end() -> None:
    attempts: list[extract.AttemptEvent] = []
    ends: list[extract.ResultEvent] = []
    backend = ScriptedBackend([answer("old"), answer(31)])
    extractor = extract.Extractor(backend)
    result = extractor.run(Person, "x", on_attempt=attempts.append, on_result=ends.append)
    assert [(a.number, a.problem, a.retrying) for a in attempts] == [
        (1, "invalid", True),
        (2, None, False),
    ]
    assert attempts[0].model == "scripted" and attempts[0].target == "Person"
    assert len(ends) == 1 and ends[0].result is result and ends[0].error is None
    assert ends[0].usage.total_tokens == 98

    failing = extract.Extractor(ScriptedBackend([answer("a"), answer("b")]))
    ends.clear()
    with pytest.raises(extract.ExtractionError):
        failing.run(Person, "x", max_retries=1, on_result=ends.append)
    assert isinstance(ends[0].error, extract.ExtractionError) and ends[0].result is None
    assert ends[0].usage.total_tokens == 98


def test_an_ensemble_tells_its_end_once() -> None:
    ends: list[extract.ResultEvent] = []
    members = [extract.Extractor(ScriptedBackend([answer(31)])) for _ in range(2)]
    extract.Ensemble(members).run(Person, "x", on_result=ends.append)
    assert len(ends) == 1 and ends[0].model.startswith("ensemble[")


def test_hooks_must_be_callable() -> None:
    with pytest.raises(extract.UsageError, match="on_attempt"):
        extract.Extractor(ScriptedBackend([])).run(Person, "x", on_attempt="print")


def test_spans_follow_the_genai_conventions_and_nest(spans: InMemorySpanExporter) -> None:
    extract.Extractor(ScriptedBackend([answer("old"), answer(31)])).run(Person, "x")
    finished = spans.get_finished_spans()
    [root] = [s for s in finished if s.name == "extract Person"]
    calls = [s for s in finished if s.name == "chat scripted"]
    assert len(calls) == 2
    assert all(c.parent is not None and c.parent.span_id == root.context.span_id for c in calls)
    first = dict(calls[0].attributes or {})
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.request.model"] == "scripted"
    assert first["gen_ai.usage.input_tokens"] == 40
    assert first["gen_ai.usage.output_tokens"] == 9
    assert first["gen_ai.response.finish_reasons"] == ("stop",)
    top = dict(root.attributes or {})
    assert (top["extract.attempts"], top["extract.retries"]) == (2, 1)
    assert top["gen_ai.usage.input_tokens"] == 80
    for span in finished:  # no document or answer text on any span
        assert SECRET not in json.dumps(dict(span.attributes or {}), default=str)


def test_a_failed_extraction_marks_its_span(spans: InMemorySpanExporter) -> None:
    with pytest.raises(extract.ExtractionError):
        extract.Extractor(ScriptedBackend([answer("a")])).run(Person, "x", max_retries=0)
    [root] = [s for s in spans.get_finished_spans() if s.name == "extract Person"]
    assert root.attributes is not None
    assert root.attributes["error.type"] == "ExtractionError"
    assert not root.status.is_ok


def test_each_provider_request_is_a_span_under_its_attempt(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("extract.backends._transport.time.sleep", lambda _: None)
    replies = [
        http.Response(429, json={"error": {"message": "slow down"}}),
        http.Response(200, json=_chat('{"name":"Ada","age":36}')),
    ]
    client = openai.OpenAI(
        api_key="sk-test",
        http_client=http.Client(transport=http.MockTransport(lambda _: replies.pop(0))),
    )
    extractor = extract.Extractor(client, model="gpt-test", retry=RetryPolicy(base_seconds=0))
    assert extractor.run(Person, "Ada, 36").value.age == 36
    finished = spans.get_finished_spans()
    [attempt] = [s for s in finished if s.name == "chat gpt-test"]
    requests = [s for s in finished if s.name == "openai request"]
    assert [dict(r.attributes or {})["extract.try"] for r in requests] == [1, 2]
    assert all(
        r.parent is not None and r.parent.span_id == attempt.context.span_id for r in requests
    )
    assert not requests[0].status.is_ok and requests[1].status.is_ok
    assert attempt.kind == trace.SpanKind.CLIENT


def _chat(arguments: str) -> dict[str, Any]:
    call = {"id": "c1", "type": "function", "function": {"name": "Person", "arguments": arguments}}
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def test_async_extractions_tell_the_same_and_keep_their_budget(
    spans: InMemorySpanExporter,
) -> None:
    import asyncio

    attempts: list[extract.AttemptEvent] = []
    ends: list[extract.ResultEvent] = []
    extractor = extract.Extractor(ScriptedBackend([answer("old"), answer(31)]))
    result = asyncio.run(
        extractor.arun(Person, "x", on_attempt=attempts.append, on_result=ends.append)
    )
    assert result.value.age == 31 and [a.number for a in attempts] == [1, 2]
    assert len(ends) == 1 and ends[0].result is result
    names = sorted(s.name for s in spans.get_finished_spans())
    assert names == ["chat scripted", "chat scripted", "extract Person"]
    spent = extract.Extractor(ScriptedBackend([answer("old"), answer(31)]))
    with pytest.raises(extract.BudgetExceededError):
        asyncio.run(spent.arun(Person, "x", max_total_tokens=49))


def test_a_strategy_the_server_refuses_is_logged_with_the_next_one_tried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    content = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": '{"name":"Ada","age":36}'},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    replies = [
        http.Response(400, json={"error": {"message": "tools are not supported"}}),
        http.Response(200, json=content),
    ]
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=http.Client(transport=http.MockTransport(lambda _: replies.pop(0))),
    )
    extractor = extract.Extractor(client, model="m", profile="openai-compatible")
    with caplog.at_level(logging.INFO, logger="extract"):
        assert extractor.run(Person, "Ada, 36").value.age == 36
    assert any(
        "refused the tools strategy (HTTP 400): trying the next" in r.getMessage()
        for r in caplog.records
    )
