"""Confidence from a hosted model's token log-probabilities (``logprobs=True``).

The responses are the OpenAI wire format, served through the SDK's own HTTP client
(see ``test_hosted_wire``): the same derivation as a local model's, the same
``Result.confidence`` contract, and no number where the tokens do not speak for it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from extract.backends import TokenEvidence
from extract.backends.openai_api import token_evidence
from extract.core._confidence import token_confidence

from .test_hosted_wire import Person, Server, chat, openai_extractor


def tokens(pieces: list[tuple[str, float]], runner_up: float = -3.0) -> dict[str, Any]:
    """OpenAI's ``logprobs`` for an answer written as ``pieces`` (text, logprob)."""
    return {
        "content": [
            {
                "token": text,
                "logprob": logprob,
                "bytes": list(text.encode()),
                "top_logprobs": [
                    {"token": text, "logprob": logprob, "bytes": None},
                    {"token": "~", "logprob": runner_up, "bytes": None},
                ],
            }
            for text, logprob in pieces
        ]
    }


def with_logprobs(content: str, pieces: list[tuple[str, float]]) -> dict[str, Any]:
    body = chat(content=content)
    body["choices"][0]["logprobs"] = tokens(pieces)
    return body


ANSWER = [('{"name": "', 0.0), ("Ada", -0.1), ('", "age": ', 0.0), ("36", -0.7), ("}", 0.0)]


def test_each_value_gets_the_confidence_of_its_tokens() -> None:
    content = "".join(t for t, _ in ANSWER)
    server = Server(with_logprobs(content, ANSWER))
    result = openai_extractor(server, logprobs=True).run(Person, "Ada is 36.")
    assert result.value == Person(name="Ada", age=36)
    assert result.confidence_source == "tokens"
    # The string's quotes are its tokens too: the closing one came with ", "age": ".
    assert result.confidence["/name"] == pytest.approx(math.exp(-0.1))
    assert result.confidence["/age"] == pytest.approx(math.exp(-0.7))
    assert set(result.confidence) == {"/name", "/age"}  # nickname: a default, not written
    body = server.bodies[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert body["response_format"]["type"] == "json_schema"  # content first: tokens cover it


def test_without_logprobs_nothing_is_asked_and_no_confidence_is_made_up() -> None:
    server = Server(chat('{"name": "Ada", "age": 36, "nickname": null}'))
    result = openai_extractor(server).run(Person, "Ada is 36.")
    assert "logprobs" not in server.bodies[0] and "tools" in server.bodies[0]
    assert result.confidence == {} and result.confidence_source is None


def test_a_tool_call_or_tokens_that_are_not_the_text_give_no_confidence() -> None:
    pinned = Server(chat('{"name": "Ada", "age": 36, "nickname": null}'))
    result = openai_extractor(pinned, logprobs=True, strategy="tools_strict").run(Person, "t")
    assert "logprobs" not in pinned.bodies[0] and result.confidence == {}
    content = '{"name": "Ada", "age": 36}'
    short = Server(with_logprobs(content, ANSWER[:-1]))  # a token missing
    assert openai_extractor(short, logprobs=True).run(Person, "t").confidence == {}
    missing = with_logprobs(content, ANSWER)
    missing["choices"][0]["logprobs"]["content"][1]["logprob"] = None
    assert openai_extractor(Server(missing), logprobs=True).run(Person, "t").confidence == {}


class Item(BaseModel):
    sku: str


def test_a_wrapped_list_root_keeps_its_pointers_after_unwrapping() -> None:
    pieces = [('{"value": [{"sku": "', 0.0), ("a1", -0.2), ('"}]}', 0.0)]
    server = Server(with_logprobs("".join(t for t, _ in pieces), pieces))
    result = openai_extractor(server, logprobs=True).run(list[Item], "a1")
    assert result.value == [Item(sku="a1")]
    assert result.confidence == {"/0/sku": pytest.approx(math.exp(-0.2))}


def test_a_compatible_server_tries_json_object_first_and_reads_its_logprobs() -> None:
    content = '{"name": "Ada", "age": 36}'
    legacy = chat(content=content)  # the completions API's shape, as some servers send
    legacy["choices"][0]["logprobs"] = {
        "tokens": ['{"name": "', "Ada", '", "age": ', "36", "}"],
        "token_logprobs": [0.0, -0.1, 0.0, -0.7, 0.0],
        "top_logprobs": [{"x": -5.0}] * 5,
    }
    server = Server(legacy)
    extractor = openai_extractor(server, base_url="http://127.0.0.1:9/v1", logprobs=True)
    result = extractor.run(Person, "Ada is 36.")
    assert server.bodies[0]["response_format"]["type"] == "json_object"
    assert result.confidence["/age"] == pytest.approx(math.exp(-0.7))


pieces = st.lists(
    st.tuples(st.text(min_size=1, max_size=4), st.floats(-20.0, 0.0)), min_size=1, max_size=30
)


@given(pieces, st.floats(-20.0, 0.0))
def test_the_wire_gives_the_evidence_a_local_decoder_would(
    written: list[tuple[str, float]], runner_up: float
) -> None:
    evidence = token_evidence(tokens(written, runner_up))
    assert [e.size for e in evidence] == [len(t.encode()) for t, _ in written]
    for e, (text, logprob) in zip(evidence, written, strict=True):
        assert e.p == pytest.approx(math.exp(logprob))
        assert e.runner_up == (0.0 if text == "~" else pytest.approx(math.exp(runner_up)))
    local = [TokenEvidence(len(t.encode()), math.exp(lp)) for t, lp in written]
    text = "".join(t for t, _ in written)
    assert token_confidence(text, evidence) == pytest.approx(token_confidence(text, local))


def test_malformed_logprobs_are_no_evidence() -> None:
    assert token_evidence(None) == ()
    assert token_evidence({"content": [{"token": "a", "logprob": float("nan")}]}) == ()
    assert token_evidence({"content": [{"token": "a", "logprob": 0.5}]}) == ()  # > 0
    assert token_evidence({"tokens": ["a"], "token_logprobs": []}) == ()
    assert token_evidence({"content": [{"token": 1, "logprob": -1.0}]}) == ()
