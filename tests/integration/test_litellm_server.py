"""LiteLLM end to end: ``Extractor("litellm:openai/NAME", api_base=...)`` against the
real OpenAI-compatible server of llama-cpp-python on 127.0.0.1, serving the embedded
model. LiteLLM does not know this model, so the provider's parameters choose the
strategies (forced tools first, as for any unknown compatible server) and no price is
made up for it.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Literal

import llama_cpp.server  # noqa: F401 - the server these tests start (the dev extra has it)
import pytest
from pydantic import BaseModel, Field

import extract
from extract.backends import RetryPolicy
from tests.llama_server import running_llama_server

pytest.importorskip("litellm")

pytestmark = [
    pytest.mark.model,
    # LiteLLM's own modules, imported on its first call, warn about their own types.
    pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"),
]


class Contact(BaseModel):
    name: str = Field(max_length=40)
    city: str = Field(max_length=30)
    role: Literal["engineer", "manager", "other"]


TEXT = "Maria Lopez is an engineer. She lives in Madrid."
TEXTS = [
    TEXT,
    "Tom Hill, a manager from Leeds.",
    "Ana Costa works as an engineer in Lisbon.",
]


@pytest.fixture(autouse=True)
def no_event_loop_left_behind() -> Iterator[None]:
    """LiteLLM's blocking OpenAI path asks asyncio for the calling thread's event loop
    (its service logger), which makes one and leaves it set; a later ``asyncio.run``
    would drop it unclosed. Close it after each test, as a program would at exit."""
    yield
    policy = asyncio.get_event_loop_policy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loop = policy.get_event_loop()
    except RuntimeError:  # none is set, and none is made any more
        return
    if not loop.is_running():
        loop.close()
        policy.set_event_loop(None)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    from extract.core._model import default_model_path

    with running_llama_server(str(default_model_path())) as url:
        yield url


def _extractor(url: str, **options: object) -> extract.Extractor:
    return extract.Extractor(
        "litellm:openai/smollm2",
        api_base=url,
        api_key="not-needed",
        retry=RetryPolicy(attempts=2),
        **options,
    )


def test_a_typed_record_through_litellm(server_url: str) -> None:
    extractor = _extractor(server_url)
    assert extractor.backend.capabilities.strategies == ("tools", "json_object", "prompt")
    result = extractor.run(Contact, TEXT, max_retries=3)
    assert isinstance(result.value, Contact)
    assert result.model == "litellm:openai/smollm2@127.0.0.1"
    assert extractor.backend.strategy == "tools"  # type: ignore[attr-defined]
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.cost is None  # LiteLLM knows no price for a self-hosted model


def test_async_extractions_at_once(server_url: str) -> None:
    extractor = _extractor(server_url)

    async def both() -> list[Contact]:
        return list(
            await asyncio.gather(
                extractor.aextract(Contact, TEXT, max_retries=3),
                extractor.aextract(Contact, TEXTS[1], max_retries=3),
            )
        )

    contacts = asyncio.run(both())
    assert len(contacts) == 2 and all(isinstance(c, Contact) for c in contacts)


def test_a_list_target(server_url: str) -> None:
    people = _extractor(server_url).extract(list[Contact], TEXT, max_retries=3)
    assert isinstance(people, list) and all(isinstance(p, Contact) for p in people)


def test_run_many_over_a_few_texts(server_url: str) -> None:
    outcomes = list(_extractor(server_url).run_many(Contact, TEXTS, concurrency=2, max_retries=3))
    assert [o.id for o in outcomes] == ["0", "1", "2"]
    assert all(o.result is not None and isinstance(o.result.value, Contact) for o in outcomes)


def test_the_server_streams_through_litellm(server_url: str) -> None:
    *snapshots, result = list(_extractor(server_url).stream(Contact, TEXT, max_retries=3))
    assert isinstance(result, extract.Result) and isinstance(result.value, Contact)
    assert snapshots and all(isinstance(s, extract.Snapshot) for s in snapshots)
