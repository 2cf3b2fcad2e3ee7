"""A list target's long text is read in chunks even when it fits the context
(``chunking="size"``, opt-in); ``chunking="overflow"``, the default, reads it whole
until the context refuses it. Other targets, short texts, streams and models that do
not read the prompt read it whole."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract.backends import Capabilities, Completion, ContextWindowExceeded, Request
from extract.core._long import CHUNK_SIZE
from extract.core.grounding import Quote

NAME = re.compile(r"\bName\d+\b")
LONG = max(6000, 3 * CHUNK_SIZE)  # characters: several default chunks, several of 800


class Entity(BaseModel):
    text: Annotated[Quote, Field(max_length=60)]
    kind: Literal["person", "place", "other"]


class People(BaseModel):
    title: str | None = None
    entities: list[Entity]


class Headline(BaseModel):
    title: str


class Reader:
    """A model that lists every ``Name17`` of the document it is sent; a document longer
    than ``window`` characters does not fit its context."""

    def __init__(self, window: int = 10**9, reads_prompt: bool = True) -> None:
        self.window = window
        self.reads_prompt = reads_prompt
        self.documents: list[str] = []
        self.refused: list[str] = []

    @property
    def name(self) -> str:
        return "fake:reader"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(context_window=self.window, reads_prompt=self.reads_prompt)

    def complete(self, request: Request) -> Completion:
        document = request.document or ""
        if len(document) > self.window:
            self.refused.append(document)
            raise ContextWindowExceeded(len(document), self.window, request.max_tokens)
        self.documents.append(document)
        names = [{"text": m.group(), "kind": "person"} for m in NAME.finditer(document)]
        if request.schema.json_schema.get("type") == "array":
            return Completion(json.dumps(names), "stop", 10, 5)
        body = {"title": document[:20], "entities": names}
        return Completion(json.dumps(body), "stop", 10, 5)


def long_text(characters: int) -> str:
    lines, i = [], 0
    while sum(len(line) + 1 for line in lines) < characters:
        lines.append(f"Line {i}: Name{i} met Name{i + 100000} near the river.")
        if i % 3 == 0:
            lines.append("Nothing happened here, and nobody was named at all today.")
        i += 1
    return "\n".join(lines)


def names_in(text: str) -> list[str]:
    return sorted(NAME.findall(text))


def test_a_list_targets_long_text_is_read_in_chunks_though_it_fits() -> None:
    text = long_text(LONG)
    reader = Reader()
    result = extract.Extractor(reader).run(People, text, chunking="size", max_retries=0)
    assert not reader.refused  # the whole text would have fitted
    assert len(reader.documents) >= 3
    assert all(len(d) <= CHUNK_SIZE for d in reader.documents)
    assert sorted(e.text for e in result.value.entities) == names_in(text)  # each once
    for i, entity in enumerate(result.value.entities):
        start, end = result.spans[f"/entities/{i}/text"]
        assert text[start:end] == entity.text
    assert result.value.title == text[:20]  # a field that is no list: from the first chunk
    assert result.timings["chunks"] == len(reader.documents)


def test_a_root_list_is_read_in_chunks_too_and_asynchronously() -> None:
    text = long_text(LONG)
    reader = Reader()
    result = asyncio.run(
        extract.Extractor(reader).arun(list[Entity], text, chunking="size", max_retries=0)
    )
    assert len(reader.documents) >= 3 and all(len(d) <= CHUNK_SIZE for d in reader.documents)
    assert sorted(e.text for e in result.value) == names_in(text)


def test_chunk_size_sets_the_size_and_the_length_from_which_a_text_is_cut() -> None:
    text = long_text(2000)
    reader = Reader()
    result = extract.Extractor(reader).run(
        People, text, chunking="size", chunk_size=500, chunk_overlap=100
    )
    assert len(reader.documents) >= 4 and all(len(d) <= 500 for d in reader.documents)
    assert sorted(e.text for e in result.value.entities) == names_in(text)
    whole = Reader()
    extract.Extractor(whole).run(People, text, chunking="size", chunk_size=len(text))
    assert whole.documents == [text]


def test_a_short_text_a_target_without_lists_and_a_stream_read_the_text_whole() -> None:
    short = long_text(CHUNK_SIZE // 2)
    reader = Reader()
    extract.Extractor(reader).run(People, short, chunking="size")
    assert reader.documents == [short]
    text = long_text(LONG)
    reader = Reader()
    assert extract.Extractor(reader).run(Headline, text, chunking="size").value.title == text[:20]
    assert reader.documents == [text]
    reader = Reader()
    *_, result = extract.Extractor(reader).stream(People, text)
    assert reader.documents == [text]  # a stream shows one answer
    assert isinstance(result, extract.Result)


def test_a_model_that_does_not_read_the_prompt_reads_the_text_whole() -> None:
    text = long_text(LONG)
    student = Reader(reads_prompt=False)
    extract.Extractor(student).run(People, text, chunking="size")
    assert student.documents == [text]


def test_chunking_overflow_reads_the_text_whole_until_the_context_refuses_it() -> None:
    text = long_text(LONG)
    reader = Reader()
    result = extract.Extractor(reader).run(People, text, chunking="overflow")
    assert reader.documents == [text]
    assert "chunks" not in result.timings
    small = Reader(window=1000)
    result = extract.Extractor(small).run(People, text, chunking="overflow", chunk_size=800)
    assert small.refused == [text]  # asked whole first, as before
    assert len(small.documents) >= 4 and all(len(d) <= 800 for d in small.documents)
    assert sorted(e.text for e in result.value.entities) == names_in(text)


def test_a_chunk_the_context_refuses_is_cut_in_two() -> None:
    text = long_text(LONG)
    small = Reader(window=CHUNK_SIZE * 3 // 4)
    result = extract.Extractor(small).run(People, text, chunking="size", max_retries=0)
    assert small.refused and text not in small.refused  # never asked whole
    assert all(len(d) <= CHUNK_SIZE * 3 // 4 for d in small.documents)
    assert sorted(e.text for e in result.value.entities) == names_in(text)


def test_a_text_that_needs_more_than_max_chunks_is_cut_into_larger_ones() -> None:
    text = long_text(LONG)
    reader = Reader()
    result = extract.Extractor(reader).run(People, text, chunking="size", max_chunks=2)
    assert len(reader.documents) == 2 and all(len(d) > CHUNK_SIZE for d in reader.documents)
    assert sorted(e.text for e in result.value.entities) == names_in(text)
    small = Reader(window=1000)  # the larger chunks do not fit, and halves would be too many
    with pytest.raises(extract.ContextWindowError, match="more than max_chunks=2"):
        extract.Extractor(small).run(People, text, chunking="size", max_chunks=2)
    assert len(small.refused) == 1 and not small.documents


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunking": "always"}, r"chunking must be one of \['size', 'overflow'\]"),
        ({"chunking": None}, "chunking must be one of"),
        ({"chunk_size": 100}, "chunk_size must be an int >= 200"),
        ({"chunk_size": "2000"}, "chunk_size must be an int >= 200"),
    ],
)
def test_bad_chunking_options_are_refused_before_any_call(
    options: dict[str, object], message: str
) -> None:
    reader = Reader()
    with pytest.raises(extract.UsageError, match=message):
        extract.Extractor(reader).run(People, "Name1 met Name2.", **options)
    assert reader.documents == []


@settings(max_examples=25, deadline=None)
@given(
    characters=st.integers(200, 4000),
    size=st.integers(200, 1500),
    overlap=st.integers(0, 400),
)
def test_every_name_is_read_once_whatever_the_chunks(
    characters: int, size: int, overlap: int
) -> None:
    text = long_text(characters)
    reader = Reader()
    options = {"chunk_size": size, "chunk_overlap": overlap, "max_chunks": 1000}
    result = extract.Extractor(reader).run(
        list[Entity], text, chunking="size", max_retries=0, **options
    )
    assert all(len(d) <= size for d in reader.documents)
    assert sorted(e.text for e in result.value) == names_in(text)


@settings(max_examples=80, deadline=None)
@given(
    characters=st.integers(0, 6000),
    size=st.integers(200, 3000),
    overlap=st.integers(0, 400),
    most=st.integers(1, 40),
)
def test_a_plan_by_size_reads_at_most_max_chunks_of_at_least_chunk_size(
    characters: int, size: int, overlap: int, most: int
) -> None:
    from extract.core._long import cut, size_for
    from extract.core._loop import Options
    from extract.schemas import compile_schema

    text = long_text(characters)[:characters]
    options = Options(chunking="size", chunk_size=size, chunk_overlap=overlap, max_chunks=most)
    planned = size_for(compile_schema(list[Entity]), text, options)
    if len(text) <= size or most == 1:
        assert planned is None  # one chunk would be the whole text: read whole
    else:
        assert planned is not None and size <= planned < len(text)
        assert len(cut(text, planned, overlap)) <= most
    assert size_for(compile_schema(Headline), text, options) is None
