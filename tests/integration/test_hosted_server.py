"""A real OpenAI-compatible server on loopback: llama-cpp-python's, with the embedded model.

The official ``openai`` client talks HTTP to ``python -m llama_cpp.server`` started by
the fixture below, so the forced-tool and JSON strategies run end to end as they
would against vLLM, Ollama or llama.cpp's server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Literal

import llama_cpp.server  # noqa: F401 - the server these tests start (the dev extra has it)
import openai
import pytest
from pydantic import BaseModel, Field

import extract
from extract.backends._transport import RetryPolicy
from tests.llama_server import free_port, running_llama_server

pytestmark = pytest.mark.model


class Contact(BaseModel):
    name: str = Field(max_length=40)
    city: str = Field(max_length=30)
    role: Literal["engineer", "manager", "other"]


TEXT = "Maria Lopez is an engineer. She lives in Madrid."


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    from extract.core._model import default_model_path

    with running_llama_server(str(default_model_path())) as url:
        yield url


_OPENED: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _clients_closed() -> Iterator[None]:
    """Each test's clients closed after it: a pooled connection left to the garbage
    collector is an unclosed socket (a ResourceWarning, an error here)."""
    yield
    while _OPENED:
        _OPENED.pop().close()


def _extractor(url: str, **options: object) -> extract.Extractor:
    client = openai.OpenAI(api_key="not-needed", base_url=url, timeout=120)
    _OPENED.append(client)
    return extract.Extractor(client, model="smollm2", retry=RetryPolicy(attempts=2), **options)


@pytest.mark.parametrize("strategy", ["tools", "json_object"])
def test_each_constrained_strategy_returns_a_typed_record(server_url: str, strategy: str) -> None:
    extractor = _extractor(server_url, profile="llama-cpp-python", strategy=strategy)
    result = extractor.run(Contact, TEXT, max_retries=3)
    assert isinstance(result.value, Contact)
    assert result.usage.completion_tokens > 0
    assert result.model.startswith("openai:smollm2@127.0.0.1")
    assert extractor.backend.strategy == strategy  # type: ignore[attr-defined]


@pytest.mark.parametrize("strategy", ["tools", "json_object"])
def test_the_server_streams_snapshots_then_the_record_run_gives(
    server_url: str, strategy: str
) -> None:
    extractor = _extractor(server_url, profile="llama-cpp-python", strategy=strategy)
    *snapshots, result = list(extractor.stream(Contact, TEXT, max_retries=3))
    assert isinstance(result, extract.Result) and isinstance(result.value, Contact)
    assert result.value == extractor.run(Contact, TEXT, max_retries=3).value  # greedy
    assert len(snapshots) > 3 and all(isinstance(s, extract.Snapshot) for s in snapshots)
    final = [s for s in snapshots if s.attempt == len(result.attempts)]
    assert final and final[-1].done[-1] == ""  # the whole answer was followed


def test_a_list_streams_item_by_item_from_the_server(server_url: str) -> None:
    """A list root travels wrapped ({"value": [...]}) in the tool call; snapshots and
    items are the user's list, and the items are the record run gives."""
    from tests.corpus import TeamMember

    text = "Ada Byron leads the backend team (12 years). Ken Thompson does ops, 3 years."
    extractor = _extractor(server_url, profile="llama-cpp-python", strategy="tools")
    *snapshots, result = list(extractor.stream(list[TeamMember], text, max_retries=3))
    assert isinstance(result, extract.Result) and snapshots
    assert all(isinstance(s.value, list) for s in snapshots)
    assert not any(p.startswith("/value") for s in snapshots for p in s.done)
    stream = extractor.iter_items(list[TeamMember], text, max_retries=3)
    items = list(stream)
    assert stream.result is not None and items == stream.result.value == result.value


def test_plain_prompting_ends_typed_or_with_every_attempt_explained(server_url: str) -> None:
    # Unconstrained, a 135M model often answers prose: the loop must still account for it.
    # Greedy on this server, it answers prose every time (checked): three attempts, each
    # with its raw output and the reason it is not a record, the errors quoted back.
    extractor = _extractor(server_url, profile="llama-cpp-python", strategy="prompt")
    with pytest.raises(extract.ExtractionError) as caught:
        extractor.run(Contact, TEXT, max_retries=2)
    attempts = caught.value.attempts
    assert len(attempts) == 3
    assert all(a.usage.completion_tokens > 0 and a.raw for a in attempts)
    assert all("no JSON value found" in a.errors[0] for a in attempts)
    assert attempts[0].raw.startswith("Maria Lopez")
    assert extractor.backend.strategy == "prompt"  # type: ignore[attr-defined]


def test_the_default_profile_needs_no_settings(server_url: str) -> None:
    people = _extractor(server_url).extract(list[Contact], TEXT, max_retries=3)
    assert isinstance(people, list) and all(isinstance(p, Contact) for p in people)


def test_the_readme_form_for_a_local_server_needs_no_key(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    extractor = extract.Extractor("openai:smollm2", base_url=server_url, profile="llama-cpp-python")
    _OPENED.append(extractor.backend._client)  # type: ignore[attr-defined]
    assert isinstance(extractor.extract(Contact, TEXT, max_retries=3), Contact)


def test_async_client_against_the_server(server_url: str) -> None:
    async def both() -> list[Contact]:
        async with openai.AsyncOpenAI(
            api_key="not-needed", base_url=server_url, timeout=120
        ) as client:
            extractor = extract.Extractor(client, model="smollm2", profile="llama-cpp-python")
            return list(
                await asyncio.gather(
                    extractor.aextract(Contact, TEXT, max_retries=3),
                    extractor.aextract(Contact, "Tom Hill, a manager from Leeds.", max_retries=3),
                )
            )

    assert all(isinstance(c, Contact) for c in asyncio.run(both()))


def test_instructor_clients_against_the_server(server_url: str) -> None:
    import instructor

    client = openai.OpenAI(api_key="not-needed", base_url=server_url, timeout=120)
    # An instructor OpenAI client: our OpenAI backend, in the strategy its mode names.
    patched = instructor.from_openai(client, mode=instructor.Mode.JSON)
    by_mode = extract.Extractor(patched, model="smollm2", profile="llama-cpp-python")
    assert isinstance(by_mode.extract(Contact, TEXT, max_retries=3), Contact)
    assert by_mode.backend.strategy == "json_object"  # type: ignore[attr-defined]
    # Any other provider (litellm's completion function): through instructor itself.
    relayed = instructor.from_litellm(lambda **kw: client.chat.completions.create(**kw))
    # Unconstrained, greedy, the 135M model answers prose (checked): the failure still
    # accounts for every attempt, read back through instructor's client.
    with pytest.raises(extract.ExtractionError) as caught:
        extract.Extractor(relayed, model="smollm2").run(Contact, TEXT, max_retries=2)
    attempts = caught.value.attempts
    assert len(attempts) == 3
    assert all(a.usage.completion_tokens > 0 and a.usage.prompt_tokens > 0 for a in attempts)
    assert all(a.raw.startswith("Maria Lopez") for a in attempts)
    assert all("no JSON value found" in a.errors[0] for a in attempts)


def test_a_server_that_is_gone_is_a_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    extractor = _extractor(url)
    with pytest.raises(extract.ProviderError) as caught:
        extractor.run(Contact, TEXT)
    assert caught.value.problem == "connection" and caught.value.retryable


def test_logprobs_give_each_value_a_confidence_like_a_local_run(server_url: str) -> None:
    """The same model, served: its answer's token log-probabilities become each value's
    confidence; without ``logprobs`` there is none."""
    hosted = _extractor(server_url, profile="llama-cpp-python", logprobs=True)
    result = hosted.run(Contact, TEXT, max_retries=3)
    assert hosted.backend.strategy == "json_object"  # type: ignore[attr-defined]
    assert result.confidence_source == "tokens"
    assert set(result.confidence) == {"/name", "/city", "/role"}
    assert all(0.0 <= sure <= 1.0 for sure in result.confidence.values())
    plain = _extractor(server_url, profile="llama-cpp-python").run(Contact, TEXT, max_retries=3)
    assert plain.confidence == {} and plain.confidence_source is None  # none made up
