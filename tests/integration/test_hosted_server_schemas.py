"""Nothing we send kills llama-cpp-python's server: patterns, formats, bounds, nesting.

Its grammar converter copies ``\\d`` into GBNF, the grammar fails to parse, and the server
process dies (seen with ``--chat_format chatml-function-calling`` and a forced tool call).
These tests run the real server on 127.0.0.1 with the embedded model, through the
default profile (the server identified from its model list) and through each strategy
of the ``llama-cpp-python`` profile, and check after every request that it is alive.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Annotated, Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract.backends._transport import RetryPolicy
from tests.llama_server import llama_server_process
from tests.schema_strategies import JSON_SCHEMAS
from tests.unit.test_server_dialect import regexes

pytestmark = pytest.mark.model

CHAT_FORMAT = "chatml-function-calling"
TEXT = "Invoice INV-20417 from Acme Tools, total 113.00 EUR, issued 2024-03-05."


class Invoice(BaseModel):
    number: Annotated[str, Field(pattern=r"^[A-Z]{2,4}-\d{3,6}$")]
    seller: Annotated[str, Field(max_length=30)]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    from extract.core._model import default_model_path

    with llama_server_process(str(default_model_path()), chat_format=CHAT_FORMAT) as running:
        yield running


def _alive(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        return False
    with urllib.request.urlopen(f"{url}/models", timeout=10) as answer:
        return bool(answer.status == 200)


def _extractor(url: str, **options: Any) -> extract.Extractor:
    client = openai.OpenAI(api_key="not-needed", base_url=url, timeout=120)
    return extract.Extractor(client, model="smollm2", retry=RetryPolicy(attempts=2), **options)


def test_a_digit_pattern_through_the_default_profile_leaves_the_server_alive(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = server
    extractor = _extractor(url)  # no profile: the server is identified from /v1/models
    try:
        result = extractor.run(Invoice, TEXT, max_retries=2)
    except extract.ExtractionError as failed:  # a 135M model may miss; the loop says why
        assert all(a.errors for a in failed.attempts)
    else:
        assert isinstance(result.value, Invoice)
    assert extractor.backend.profile.name == "llama-cpp-python"  # type: ignore[attr-defined]
    assert extractor.backend.strategy == "tools"  # type: ignore[attr-defined]
    assert _alive(url, process)


PATTERN_OBJECTS = regexes().map(
    lambda p: {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": p, "maxLength": 12}},
        "required": ["code"],
    }
)


@settings(max_examples=24, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    schema=st.one_of(JSON_SCHEMAS, PATTERN_OBJECTS),
    strategy=st.sampled_from(["tools", "json_object", "prompt"]),
)
def test_any_compiled_schema_through_each_strategy_leaves_the_server_alive(
    server: tuple[str, subprocess.Popen[bytes]], schema: dict[str, Any], strategy: str
) -> None:
    url, process = server
    extractor = _extractor(url, profile="llama-cpp-python", strategy=strategy)
    try:
        result = extractor.run(schema, TEXT, max_retries=0, max_tokens=48)
    except extract.ExtractionError as failed:
        assert failed.attempts and all(a.errors or a.truncated for a in failed.attempts)
    except extract.UsageError:
        pass  # a generated schema the compiler refuses (e.g. an empty enum) never left us
    else:
        assert result.raw
        json.dumps(result.value)  # a raw JSON Schema target gives plain JSON data
    assert _alive(url, process), f"the server died on {json.dumps(schema)} ({strategy})"


def test_the_same_schema_sent_as_written_kills_this_server() -> None:
    """The control: without the respelling this server version dies on ``\\d``, so the
    tests above would fail if the dialect stopped being applied."""
    from extract.core._model import default_model_path

    parameters = Invoice.model_json_schema()
    with llama_server_process(str(default_model_path()), chat_format=CHAT_FORMAT) as (url, proc):
        client = openai.OpenAI(api_key="not-needed", base_url=url, timeout=120, max_retries=0)
        with client, pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(
                model="smollm2",
                messages=[{"role": "user", "content": TEXT}],
                tools=[{"type": "function", "function": {"name": "f", "parameters": parameters}}],
                tool_choice={"type": "function", "function": {"name": "f"}},
                max_tokens=16,
            )
        proc.wait(timeout=30)
        assert proc.returncode != 0
