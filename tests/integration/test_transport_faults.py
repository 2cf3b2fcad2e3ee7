"""Hosted calls against a real loopback server that answers with faults.

The official ``openai`` and ``anthropic`` clients talk over a socket to
``tests.fault_server``: 429s with odd ``Retry-After`` values, 5xx, resets, bodies
trickled a byte at a time, servers that never answer, bodies that are not JSON,
cut-off tool arguments, a 401 that echoes the key. Every case ends in a typed value
or a typed error within its bound, with the usage spent so far, and no key anywhere:
not in the error, its chain, its traceback or a log record.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import extract
from extract.backends import ProviderFailure
from extract.backends._transport import RetryPolicy, retry_after_seconds
from tests import fault_counts
from tests.fault_server import (
    CLOSE,
    HANG,
    NOT_JSON,
    RESET,
    FaultServer,
    Reply,
    ok,
    status,
    trickle,
)

KEY = "sk-fault-0123456789abcdef0123"
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
SLACK = 0.8  # seconds a bound may be overrun by scheduling on a busy 2-core machine


class Person(BaseModel):
    name: str
    age: int


def chat(arguments: str, completion_tokens: int = 5) -> Reply:
    """An OpenAI tool-call answer."""
    call = {"id": "c1", "type": "function", "function": {"name": "Person", "arguments": arguments}}
    return ok(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": completion_tokens,
                "total_tokens": 10 + completion_tokens,
            },
        }
    )


GOOD = '{"name": "Ada", "age": 36}'
WRONG = '{"name": "Ada", "age": "old"}'  # valid JSON, invalid record: a repair retry


def message(arguments: dict[str, Any]) -> Reply:
    """An Anthropic tool-use answer."""
    return ok(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "Person", "input": arguments}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }
    )


def openai_at(server: FaultServer, **options: Any) -> extract.Extractor:
    options.setdefault("retry", RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05))
    return extract.Extractor("openai:m", base_url=server.url, api_key=KEY, **options)


def anthropic_at(server: FaultServer, **options: Any) -> extract.Extractor:
    options.setdefault("retry", RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05))
    base = server.url.removesuffix("/v1")
    return extract.Extractor("anthropic:claude-test", base_url=base, api_key=KEY, **options)


def run(extractor: extract.Extractor, asynchronous: bool, **options: Any) -> extract.Result[Any]:
    if asynchronous:
        return asyncio.run(extractor.arun(Person, "Ada is 36.", **options))
    return extractor.run(Person, "Ada is 36.", **options)


def no_models(server: FaultServer) -> None:
    server.add("/v1/models", status(404))  # a generic server: no probe answer


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def assert_no_key(error: BaseException, logs: pytest.LogCaptureFixture) -> None:
    """No trace of the key in the error, anything chained to it, or any record logged
    by the library or by a user logging the error (the HTTP library's own DEBUG
    records of response headers are its own, and off unless asked for)."""
    assert error.__cause__ is None or KEY not in repr(error.__cause__)
    text = "".join(traceback.format_exception(error))
    assert KEY not in text and KEY not in repr(error) and KEY not in str(vars(error))
    logging.getLogger("user").exception("the extraction failed", exc_info=error)
    for record in logs.records:
        if record.name.split(".")[0] not in ("extract", "backends", "user"):
            continue
        shown = record.getMessage()
        if record.exc_info:
            shown += "".join(traceback.format_exception(*record.exc_info))
        assert KEY not in shown, shown


# -- Retry-After: any header text gives a finite wait -----------------------------

HEADER_VALUES = st.one_of(
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "-1",
            "-0",
            "1e400",
            "1e308",
            "99999999",
            "0x10",
            "1_0",
            " 3 ",
            "",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "Sun, 99 Foo",
        ]
    ),
    st.floats().map(repr),
    st.integers().map(str),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40),
)


@settings(max_examples=400)
@given(
    name=st.sampled_from(["retry-after", "Retry-After", "retry-after-ms"]),
    value=HEADER_VALUES,
    retry=st.integers(0, 10_000),
)
@example(name="retry-after", value="nan", retry=0)
@example(name="retry-after-ms", value="inf", retry=0)
def test_any_retry_after_text_gives_a_finite_wait_within_the_cap(
    name: str, value: str, retry: int
) -> None:
    seconds = retry_after_seconds({name: value})
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
    policy = RetryPolicy(max_seconds=7.0)
    failure = ProviderFailure(
        "x", provider="p", problem="rate_limit", retryable=True, retry_after=seconds
    )
    wait = policy.delay(failure, retry, random.Random(0))
    assert math.isfinite(wait) and 0.0 <= wait <= 7.0


def test_a_retry_policy_refuses_waits_that_are_not_numbers_of_seconds() -> None:
    for bad in ({"max_seconds": math.nan}, {"base_seconds": -1.0}, {"attempts": 0}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("value", ["nan", "inf", "-5", "1e400", "99999999", "soon"])
def test_an_odd_retry_after_on_the_wire_is_ignored_or_capped(
    value: str, asynchronous: bool
) -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, chat(GOOD), status(429, retry_after=value), chat(GOOD))
        extractor = openai_at(server, asynchronous=asynchronous)
        run(extractor, asynchronous)  # the SDK's first call builds its types: not timed
        started = time.monotonic()
        result = run(extractor, asynchronous)
        assert result.value == Person(name="Ada", age=36)
        assert time.monotonic() - started < 0.05 + SLACK  # max_seconds=0.05 caps the wait
        assert len(server.requests(CHAT)) == 3


# -- timeouts: each whole call; the deadline: the whole extraction ------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", [trickle(0.2), HANG], ids=["trickle", "hang"])
def test_the_timeout_bounds_each_whole_call(fault: Reply, asynchronous: bool) -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, fault, fault)
        retry = RetryPolicy(attempts=2, base_seconds=0.0)
        extractor = openai_at(server, timeout=1.0, retry=retry, asynchronous=asynchronous)
        started = time.monotonic()
        with pytest.raises(extract.ProviderError) as caught:
            run(extractor, asynchronous)
        took = time.monotonic() - started
    # Before, a trickle held a timeout=2 call for 20 s (the timeout bounded each read).
    assert 2.0 <= took < 2.0 + SLACK, took
    assert caught.value.problem == "timeout" and caught.value.retryable
    assert "1 s" in str(caught.value)
    assert len(server.requests(CHAT)) == 2


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_models_probe_obeys_the_timeout(asynchronous: bool) -> None:
    with FaultServer() as server:
        server.add("/v1/models", HANG)
        server.add(CHAT, chat(GOOD))
        extractor = openai_at(server, timeout=0.5, asynchronous=asynchronous)
        started = time.monotonic()
        assert run(extractor, asynchronous).value.name == "Ada"
        took = time.monotonic() - started
    assert took < 0.5 + SLACK, took  # it waited 10 s whatever the timeout


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "after", [[trickle(0.2)] * 9, [status(503)] * 40, [RESET] * 40], ids=["trickle", "503", "reset"]
)
def test_the_deadline_bounds_the_whole_extraction_and_keeps_what_was_spent(
    after: list[Reply], asynchronous: bool
) -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, chat(WRONG, completion_tokens=20), *after)
        retry = RetryPolicy(attempts=50, base_seconds=0.05, max_seconds=0.1)
        extractor = openai_at(server, timeout=30, retry=retry, asynchronous=asynchronous)
        started = time.monotonic()
        with pytest.raises(extract.DeadlineExceededError) as caught:
            run(extractor, asynchronous, deadline=1.5)
        took = time.monotonic() - started
    assert took < 1.5 + SLACK, took
    error = caught.value
    assert isinstance(error, extract.ProviderError) and error.problem == "timeout"
    assert error.deadline == 1.5 and "1.5 s" in str(error)
    assert len(error.attempts) == 1 and error.attempts[0].errors  # the wrong answer
    assert (error.usage.prompt_tokens, error.usage.completion_tokens) == (10, 20)


def test_an_extractor_wide_deadline_applies_to_each_extraction() -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, HANG)
        extractor = openai_at(server, deadline=0.7)
        started = time.monotonic()
        with pytest.raises(extract.DeadlineExceededError):
            extractor.run(Person, "text")
        assert time.monotonic() - started < 0.7 + SLACK
    with pytest.raises(extract.UsageError, match="deadline"):
        extract.Extractor("openai:m", api_key=KEY, deadline=math.nan)
    with pytest.raises(extract.UsageError, match="deadline"):
        extractor.run(Person, "text", deadline=-1)


def test_a_named_client_has_a_whole_call_timeout_by_default() -> None:
    extractor = extract.Extractor("openai:m", api_key=KEY)
    assert extractor.backend._timeout == 120.0  # type: ignore[attr-defined]
    unbounded = extract.Extractor("openai:m", api_key=KEY, timeout=None)
    assert unbounded.backend._timeout is None  # type: ignore[attr-defined]
    with pytest.raises(extract.UsageError, match="timeout"):
        extract.Extractor("openai:m", api_key=KEY, timeout=math.inf)


# -- what an error carries: the attempts and usage before it, and never the key -----


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_provider_error_after_an_answer_keeps_its_attempt_and_usage(
    asynchronous: bool, logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, chat(WRONG, completion_tokens=20), *[status(500)] * 5)
        with pytest.raises(extract.ProviderError) as caught:
            run(openai_at(server, retry=RetryPolicy(attempts=5, base_seconds=0.0)), asynchronous)
    error = caught.value
    assert error.problem == "server" and error.status_code == 500
    assert len(error.attempts) == 1 and "age" in str(error.attempts[0].errors)
    assert (error.usage.prompt_tokens, error.usage.completion_tokens) == (10, 20)
    assert_no_key(error, logs)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("code", [401, 403, 400, 500])
def test_a_server_that_echoes_the_key_never_gets_it_into_errors_or_logs(
    provider: str, code: int, logs: pytest.LogCaptureFixture
) -> None:
    echoed = {"error": {"type": "error", "message": f"Incorrect API key provided: {KEY}."}}
    path = CHAT if provider == "openai" else MESSAGES
    with FaultServer() as server:
        no_models(server)
        server.add(path, *[status(code, echoed, x_echo=KEY)] * 3)
        extractor = (openai_at if provider == "openai" else anthropic_at)(server)
        with pytest.raises(extract.ProviderError) as caught:
            extractor.run(Person, "text")
        sent = server.requests(path)[0]
    assert sent.headers.get("authorization", sent.headers.get("x-api-key", "")).endswith(KEY)
    assert caught.value.status_code == code and "***" in str(caught.value)
    assert_no_key(caught.value, logs)


def test_a_reset_connection_and_a_body_that_is_not_json_are_typed() -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, RESET, CLOSE, chat(GOOD))
        assert openai_at(server).extract(Person, "text").age == 36
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, NOT_JSON)
        with pytest.raises(extract.ProviderError) as caught:
            openai_at(server).run(Person, "text")
    assert caught.value.problem == "bad_response" and not caught.value.retryable


def test_cut_off_tool_arguments_are_repaired_or_re_asked() -> None:
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, chat('{"name": "Ada", "ag'), chat(GOOD))
        result = openai_at(server).run(Person, "text")
    assert result.value.age == 36 and len(result.attempts) == 2


# -- any mix of faults: a typed outcome within the deadline, nothing leaked ---------

FAULTS: dict[str, Reply] = {
    "429 nan": status(429, retry_after="nan"),
    "429 -1": status(429, retry_after="-1"),
    "429 1e400": status(429, retry_after="1e400"),
    "429 date": status(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
    "503": status(503),
    "500 echo": status(500, {"error": {"message": f"key {KEY}"}}),
    "reset": RESET,
    "close": CLOSE,
    "trickle": trickle(0.1),
    "hang": HANG,
    "not json": NOT_JSON,
    "cut args": chat('{"name": "Ada", "age": 3'),
    "wrong": chat(WRONG),
    "401": status(401, {"error": {"message": f"bad key {KEY}"}}),
}
TIMEOUT, DEADLINE = 0.4, 2.5


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    faults=st.lists(st.sampled_from(sorted(FAULTS)), max_size=6),
    asynchronous=st.booleans(),
    recover=st.booleans(),
)
def test_any_mix_of_faults_ends_typed_within_the_deadline(
    faults: list[str], asynchronous: bool, recover: bool, logs: pytest.LogCaptureFixture
) -> None:
    logs.clear()
    replies = [FAULTS[name] for name in faults] + ([chat(GOOD)] if recover else [])
    with FaultServer() as server:
        no_models(server)
        server.add(CHAT, *replies)
        retry = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)
        extractor = openai_at(server, timeout=TIMEOUT, retry=retry, asynchronous=asynchronous)
        started = time.monotonic()
        try:
            result = run(extractor, asynchronous, deadline=DEADLINE, max_retries=3)
        except extract.ExtractError as exc:
            error: extract.ExtractError | None = exc
        else:
            error = None
            assert result.value == Person(name="Ada", age=36)
        took = time.monotonic() - started
        answered = len(server.requests(CHAT))
    assert took < DEADLINE + SLACK, (took, faults)
    if error is not None:
        assert isinstance(error, (extract.ProviderError, extract.ExtractionError)), error
        attempts = error.attempts
        assert error.usage.completion_tokens == 5 * len(attempts)
        assert_no_key(error, logs)
    else:
        assert result.usage.completion_tokens == 5 * len(result.attempts)
    assert answered >= 1
    fault_counts.record("transport-faults", inputs=1, faults=len(faults), accounted=1)
