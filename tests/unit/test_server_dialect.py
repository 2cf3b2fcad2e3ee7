"""Schemas fitted to llama-cpp-python's server, knowing the server, and a server that died.

Offline: the pattern writer and the dialect as pure functions (Hypothesis), the server
kind from recorded ``/v1/models`` answers, and the transport's reading of a connection
cut off mid-request. The same against the real loopback server is in
``test_hosted_server.py``.
"""

from __future__ import annotations

import re
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.backends import ProviderFailure
from extract.backends._server_kind import profile_from_models
from extract.backends._transport import RetryPolicy, call_with_retries
from extract.backends.openai_api import OpenAIBackend
from extract.schemas import llama_cpp_server_schema, server_pattern

try:  # the openai SDK's HTTP client: httpx2 in newer releases
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

# -- the pattern writer ------------------------------------------------------------------

ATOMS = st.sampled_from(
    [
        "a", "Z", "7", " ", "-", ".", r"\.", '"', r"\\", "é", "/", r"\^", r"\$", "_", "'",
        r"\d", r"\w", r"\s", r"\D", r"\W", r"\S",
        "[a-z]", "[^0-9]", r"[\d_-]", r"[A-Z\s]", r"[\]\\]", "[.]", r"[\w.+-]", "[ä-ö]",
    ]
)  # fmt: skip
QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}", "*?"])


@st.composite
def regexes(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 5)) if depth < 2 else 0
        if kind == 4:
            piece = "(" + draw(regexes(depth + 1)) + ")"
        elif kind == 5:
            piece = "(" + "|".join(draw(st.lists(regexes(depth + 1), min_size=2, max_size=3))) + ")"
        else:
            piece = draw(ATOMS)
        piece += draw(QUANTIFIERS)
        pieces.append(piece)
    body = "".join(pieces)
    if depth == 0:
        body = ("^" if draw(st.booleans()) else "") + body + ("$" if draw(st.booleans()) else "")
    return body


# GBNF knows these escapes only; the converter copies the rest through.
_UNSAFE_ESCAPE = re.compile(r"\\(?![uUtnr])")


def _is_converter_safe(pattern: str) -> bool:
    return (
        pattern.startswith("^")
        and pattern.endswith("$")
        and "(?" not in pattern
        and not _UNSAFE_ESCAPE.search(pattern)
    )


@given(regexes(), st.data())
def test_a_respelled_pattern_is_safe_and_never_admits_what_the_original_rejects(
    pattern: str, data: st.DataObject
) -> None:
    try:
        original = re.compile(pattern)
    except re.error:
        assert server_pattern(pattern) is None
        return
    spelled = server_pattern(pattern)
    if spelled is None:
        return
    assert _is_converter_safe(spelled), spelled
    # A small alphabet (ASCII, Latin-1, a few beyond) keeps negated classes cheap to draw.
    alphabet = st.characters(max_codepoint=0x2FF)
    sample = data.draw(st.from_regex(spelled, fullmatch=True, alphabet=alphabet), label="s")
    assert original.search(sample), (pattern, spelled, sample)


@given(regexes())
def test_every_generated_pattern_without_a_negated_shorthand_is_respelled(
    pattern: str,
) -> None:
    try:
        re.compile(pattern)
    except re.error:
        return
    # Negated shorthands (\D, or \d inside [^...]) are the one generated kind refused.
    negated = re.search(r"\\[DWS]|\[\^[^\]]*\\[dws]", pattern)
    assert (server_pattern(pattern) is not None) or negated


@pytest.mark.parametrize(
    ("pattern", "spelled"),
    [
        (r"^[A-Z]{2,4}-\d{3,6}$", r"^([A-Z]){2,4}[\u002D]([0-9]){3,6}$"),  # the crash case
        (r"\d+", r"^.*([0-9])+.*$"),  # JSON Schema patterns search: unanchored ends
        (r"^(yes|no)$", "^(yes|no)$"),
        (r"^(a|b|)$", "^(a|b)?$"),  # an empty branch: an optional group
        (r"^[^0-9]$", "^[^0-9]$"),
        (r"^(?:ab)+$", "^(ab)+$"),  # no (?: for the converter
        ("^$", "^$"),
    ],
)
def test_known_patterns_respell_as_expected(pattern: str, spelled: str) -> None:
    assert server_pattern(pattern) == spelled


@pytest.mark.parametrize(
    "pattern",
    [
        r"\D",
        r"^[^\w.]$",
        r"(?=a)b",
        r"(a)\1",
        r"\bword",
        r"(?i:a)b",
        r"a{5000}",
        r"^a$b",
        "[" + "a" * 5000,
    ],
)
def test_what_has_no_safe_spelling_is_none(pattern: str) -> None:
    assert server_pattern(pattern) is None


# -- the dialect -------------------------------------------------------------------------


def test_the_dialect_respells_or_removes_each_pattern_and_keeps_the_original() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "number": {"type": "string", "pattern": r"^[A-Z]{2}-\d{3}$"},
            "tags": {"type": "array", "items": {"type": "string", "pattern": r"(?<=x)y"}},
            "kind": {"anyOf": [{"type": "string", "pattern": r"\w+"}, {"type": "null"}]},
        },
        "required": ["number"],
    }
    before = repr(schema)
    converted = llama_cpp_server_schema(schema)
    assert repr(schema) == before  # the caller's dict is untouched
    props = converted.parameters["properties"]
    assert props["number"]["pattern"] == r"^([A-Z]){2}[\u002D]([0-9]){3}$"
    assert "pattern" not in props["tags"]["items"]
    assert "(?<=x)y" in props["tags"]["items"]["description"]
    assert props["kind"]["anyOf"][0]["pattern"] == r"^.*([a-zA-Z0-9_])+.*$"
    assert converted.original["properties"]["number"]["pattern"] == r"^[A-Z]{2}-\d{3}$"
    assert any("/properties/tags/items" in note for note in converted.notes)
    patterns = [c for c in converted.validated_after if c.keyword == "pattern"]
    assert len(patterns) == 3  # every original pattern is checked after decoding
    assert converted.restore({"number": "AB-123"}) == {"number": "AB-123"}


def test_a_list_target_is_wrapped_and_its_patterns_respelled() -> None:
    converted = llama_cpp_server_schema({"type": "array", "items": {"pattern": r"\d"}})
    assert converted.wrapped
    inner = converted.parameters["properties"]["value"]["items"]
    assert inner["pattern"] == "^.*[0-9].*$"


# -- knowing the server ------------------------------------------------------------------

LLAMA_CPP_PYTHON = {
    "object": "list",
    "data": [{"id": "smollm2", "object": "model", "owned_by": "me", "permissions": []}],
}
LLAMA_SERVER = {
    "object": "list",
    "data": [
        {
            "id": "model.gguf",
            "object": "model",
            "created": 1,
            "owned_by": "llamacpp",
            "meta": {"vocab_type": 2, "n_ctx_train": 8192},
        }
    ],
}
VLLM = {
    "object": "list",
    "data": [
        {
            "id": "Qwen/Qwen2.5-1.5B",
            "object": "model",
            "owned_by": "vllm",
            "root": "Qwen/Qwen2.5-1.5B",
            "max_model_len": 32768,
            "permission": [{"id": "modelperm-1", "object": "model_permission"}],
        }
    ],
}
OLLAMA = {
    "object": "list",
    "data": [{"id": "qwen2.5:0.5b", "object": "model", "created": 1, "owned_by": "library"}],
}


@pytest.mark.parametrize(
    ("body", "headers", "port", "profile"),
    [
        (LLAMA_CPP_PYTHON, {"server": "uvicorn"}, 8000, "llama-cpp-python"),
        (LLAMA_SERVER, {}, 8080, "llama.cpp"),
        ({"data": []}, {"Server": "llama.cpp"}, 8080, "llama.cpp"),
        (VLLM, {"server": "uvicorn"}, 8000, "vllm"),
        (OLLAMA, {}, 11434, "ollama"),
        ({"data": [{"id": "m", "owned_by": "someone"}]}, {}, 11434, "ollama"),
        ({"data": [{"id": "gpt", "owned_by": "organization-owner"}]}, {}, 443, None),
        ({"error": "not found"}, {}, 8000, None),
        ([], {}, None, None),
    ],
)
def test_the_server_kind_comes_from_its_model_list(
    body: Any, headers: dict[str, str], port: int | None, profile: str | None
) -> None:
    assert profile_from_models(body, headers, port) == profile


def _backend(handler: Any, **options: Any) -> tuple[OpenAIBackend, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return handler(request)  # type: ignore[no-any-return]

    client = openai.OpenAI(
        api_key="k" * 10,
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(record)),
    )
    return OpenAIBackend(
        client, "m", retry=RetryPolicy(attempts=2, base_seconds=0), **options
    ), seen


def test_a_base_url_server_is_identified_once_and_profile_wins() -> None:
    backend, seen = _backend(lambda r: httpx.Response(200, json=LLAMA_CPP_PYTHON))
    assert backend.profile.name == "openai-compatible"
    backend.identify()
    backend.identify()
    assert backend.profile.name == "llama-cpp-python"
    assert seen == ["GET /v1/models"]

    pinned, seen = _backend(lambda r: httpx.Response(200, json=VLLM), profile="llama.cpp")
    pinned.identify()
    assert pinned.profile.name == "llama.cpp" and seen == []


def test_a_server_without_a_model_list_stays_generic() -> None:
    backend, seen = _backend(lambda r: httpx.Response(404, json={"error": "no"}))
    backend.identify()
    assert backend.profile.name == "openai-compatible"
    assert seen == ["GET /v1/models"]  # asked once, not retried


# -- a server that went away -------------------------------------------------------------


def _connection_error(cause: Exception) -> openai.APIConnectionError:
    error = openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1"))
    error.__cause__ = cause
    return error


def _classify(exc: BaseException) -> ProviderFailure | None:
    backend, _ = _backend(lambda r: httpx.Response(200))
    return backend._failure(exc)


def test_a_request_cut_off_then_refused_says_the_server_went_away() -> None:
    errors = iter(
        [
            _connection_error(httpx.RemoteProtocolError("Server disconnected")),
            _connection_error(httpx.ConnectError("Connection refused")),
        ]
    )

    def call(seconds: float | None) -> None:
        raise next(errors)

    with pytest.raises(ProviderFailure, match="went away during this request") as caught:
        call_with_retries(call, _classify, RetryPolicy(attempts=2, base_seconds=0))
    assert caught.value.problem == "connection" and not caught.value.retryable


@pytest.mark.parametrize(
    "causes",
    [
        [httpx.ConnectError("refused"), httpx.ConnectError("refused")],  # never reached
        [httpx.RemoteProtocolError("cut"), httpx.RemoteProtocolError("cut")],  # flaky, alive
    ],
)
def test_other_connection_failures_are_not_called_a_dead_server(causes: list[Exception]) -> None:
    errors = iter(_connection_error(c) for c in causes)

    def call(seconds: float | None) -> None:
        raise next(errors)

    with pytest.raises(ProviderFailure) as caught:
        call_with_retries(call, _classify, RetryPolicy(attempts=2, base_seconds=0))
    assert "went away" not in str(caught.value)
    assert caught.value.problem == "connection"
