"""Grounded strings (extract.Quote): substrings by grammar, aligned with offsets."""

from __future__ import annotations

import itertools
import json
import re
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract.core.grounding import Aligned, Aligner, CharQuote, Quote
from extract.core.grounding._align import normalized
from extract.schemas import GrammarChecker, compile_schema
from extract.testing import FakeBackend, ScriptedBackend


class Entity(BaseModel):
    text: Annotated[Quote, Field(max_length=60)]
    kind: Literal["person", "place", "other"]
    alias: Quote | None = None


class Story(BaseModel):
    title: Quote
    entities: list[Entity]
    letters: list[CharQuote] = []
    words: int = 0


# Texts with what breaks offsets and escapes: accents, CJK, emoji, newlines, quotes,
# backslashes, tabs.
ALPHABET = st.sampled_from([*"abc XYZ,.;:!?-'\"\\\n\t", "é", "Ü", "ß", "東", "京", "😀", "ﬁ", "İ"])
texts = st.lists(ALPHABET, min_size=1, max_size=80).map("".join).filter(lambda t: t.strip())
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _values(value: Any) -> list[str]:
    data = value.model_dump(mode="json")
    found = [data["title"], *data["letters"]]
    for e in data["entities"]:
        found += [e["text"], *([e["alias"]] if e["alias"] else [])]
    return found


@SETTINGS
@given(texts, st.integers(0, 10_000))
def test_a_grammar_walk_writes_only_substrings_at_their_offsets(text: str, seed: int) -> None:
    result = extract.Extractor(FakeBackend(seed=seed)).run(Story, text, max_retries=3)
    for pointer, (start, end) in result.spans.items():
        assert result.alignment[pointer] == "exact"
        node: Any = result.value.model_dump(mode="json")
        for part in pointer.split("/")[1:]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert text[start:end] == node
    assert sorted(_values(result.value)) == sorted(text[s:e] for s, e in result.spans.values())
    assert all(v and v in text and v == v.strip() for v in _values(result.value))


def test_the_grammar_refuses_what_the_text_does_not_say() -> None:
    text = 'José met "Bob" in Zürich.\nThen 東京 😀 left\\home.'
    checker = GrammarChecker(compile_schema(Story).grounded_grammar(text))

    def story(title: str) -> str:
        return json.dumps(
            {"title": title, "entities": []}, ensure_ascii=False, separators=(",", ":")
        )

    for ok in ['"Bob" in Zürich', "Zürich.\nThen 東京", "left\\home", "José"]:
        assert checker.accepts(story(ok)), ok
    for bad in ["Bob in Zürich", "Jos", "", " José", "José ", "Paris", "home.\n"]:
        assert not checker.accepts(story(bad)), bad
    # the field's length bounds hold, counted in characters of the text
    long_text = "word " * 30 + 'é"end'
    bounded = GrammarChecker(compile_schema(Story).grounded_grammar(long_text))

    def entity(value: str) -> str:
        doc = {"title": "word", "entities": [{"text": value, "kind": "other"}]}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    assert bounded.accepts(entity(("word " * 12).strip()))  # 59 characters
    assert not bounded.accepts(entity(("word " * 13).strip()))  # 64
    assert bounded.accepts(entity('word é"end'))  # an escape is one character
    # character level: any run of characters
    letters = json.dumps({"title": "José", "entities": [], "letters": ["os", "ürich.\nT"]},
                         ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    assert checker.accepts(letters)


@SETTINGS
@given(texts, st.data())
def test_noisy_copies_align_to_where_they_were_cut(text: str, data: st.DataObject) -> None:
    words = [(i, w) for i, w in enumerate(text.split()) if any(c.isalnum() for c in w)]
    if not words:
        return
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, min(len(text), start + 30)))
    piece = text[start:end].strip()
    if not piece or not any(c.isalnum() for c in piece):
        return
    begin = text.index(piece, start)
    noisy = " ".join(piece.upper().split())  # case and whitespace noise
    aligned = Aligner(text).align(noisy)
    assert aligned is not None and aligned.status in ("exact", "normalized")
    # It points at text that reads as the value, no later than where it was cut (a
    # fresh aligner takes the first place it occurs), unless the cut was inside a word
    # and the value also stands as a whole word later (whole words are preferred).
    assert normalized(text[aligned.start : aligned.end]) == normalized(noisy)
    if _whole_word(text, begin, begin + len(piece)):
        assert aligned.start <= begin
    else:
        assert aligned.start <= begin or _whole_word(text, aligned.start, aligned.end)


def test_a_combining_mark_from_case_folding_stays_inside_its_word() -> None:
    # Case-folding "İ" gives "i" and a combining dot: the last "a" of "aİa" is no
    # whole word, so the first occurrence is taken (Hypothesis found this one).
    assert Aligner("aİa").align("A") == Aligned(0, 1, "normalized")


def _whole_word(text: str, start: int, end: int) -> bool:
    before = start == 0 or not text[start - 1].isalnum()
    return before and (end == len(text) or not text[end].isalnum())


def test_repeated_names_take_their_occurrences_left_to_right() -> None:
    text = "Ann met Bo. Then ann met BO again, and Ann left."
    aligner = Aligner(text)
    spans = [(a.start, a.end) for v in ["Ann", "Ann", "Ann", "Bo", "Bo"]
             if (a := aligner.align(v)) is not None]  # fmt: skip
    assert [text[s:e] for s, e in spans] == ["Ann", "Ann", "Ann", "Bo", "BO"]
    assert [s for s, _ in spans] == [0, 39, 0, 8, 25]  # the third Ann: only two copies


def test_a_value_not_in_the_text_is_asked_again_then_fails() -> None:
    text = "Marta Kowalczyk works in Krakow."
    wrong = '{"title":"Marta","entities":[{"text":"Warsaw","kind":"place"}]}'
    right = '{"title":"Marta","entities":[{"text":"krakow","kind":"place"}]}'
    backend = ScriptedBackend([wrong, right])
    result = extract.Extractor(backend).run(Story, text, max_retries=1)
    assert "'Warsaw' does not occur in the text" in result.attempts[0].errors[0]
    assert "Warsaw" in backend.requests[1].messages[-1].content  # quoted back to the model
    assert result.spans["/entities/0/text"] == (25, 31)
    assert result.alignment["/entities/0/text"] == "normalized"
    with pytest.raises(extract.ExtractionError, match="does not occur in the text"):
        extract.Extractor(ScriptedBackend([wrong])).run(Story, text, max_retries=0)


def test_a_model_without_quotes_is_untouched() -> None:
    class Plain(BaseModel):
        name: str

    result = extract.Extractor(ScriptedBackend(['{"name":"Nowhere"}'])).run(Plain, "text")
    assert result.spans == {} and result.value.name == "Nowhere"
    assert not compile_schema(Plain).grounded and compile_schema(Story).grounded


class People(BaseModel):
    entities: list[Entity]


def _long_text(n: int) -> str:
    lines = []
    for i in range(n):
        lines.append(f"Line {i}: Name{i} met Name{i + 1000} near the river.")
        if i % 3 == 0:
            lines.append("Nothing happened here, and nobody was named at all today.")
    return "\n".join(lines)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000), st.integers(200, 1200), st.integers(0, 400))
def test_chunks_cover_the_text_within_their_size(text: str, size: int, overlap: int) -> None:
    from extract.core._long import cut

    chunks = cut(text, size, overlap)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    for (s1, e1), (s2, e2) in itertools.pairwise(chunks):
        assert s1 < s2 <= e1 and e1 - s2 <= max(overlap, 0) and e2 > e1  # overlap, progress
    assert all(e - s <= size for s, e in chunks)


def test_a_long_document_is_read_in_chunks_with_every_name_once() -> None:
    from tests.grounding_fakes import NameFinder

    text = _long_text(60)
    backend = NameFinder(window=600)
    result = extract.Extractor(backend).run(People, text, max_retries=0, chunk_overlap=120)
    names = [e.text for e in result.value.entities]
    expected = sorted({m for m in re.findall(r"\bName\d+\b", text)})
    assert sorted(names) == expected  # every part of the document, no duplicates
    assert len(backend.seen) > 5 and all(len(t) <= 600 for t in backend.seen)
    for i, entity in enumerate(result.value.entities):
        start, end = result.spans[f"/entities/{i}/text"]
        assert text[start:end] == entity.text
    assert result.timings["chunks"] == len(backend.seen)


def test_a_long_document_and_a_target_that_cannot_be_split() -> None:
    from tests.grounding_fakes import NameFinder

    class One(BaseModel):
        name: Quote

    with pytest.raises(extract.ContextWindowError, match="cannot be split: extract a list"):
        extract.Extractor(NameFinder(window=600)).run(One, _long_text(60))
    with pytest.raises(extract.ContextWindowError, match="more than max_chunks=2"):
        extract.Extractor(NameFinder(window=600)).run(People, _long_text(60), max_chunks=2)
    with pytest.raises(extract.UsageError, match="chunk_size"):
        extract.Extractor(NameFinder()).run(People, "x", chunk_size=10)


def test_the_report_says_where_grounding_is_enforced() -> None:
    local = compile_schema(Story).report.render()
    assert "/properties/title: x-grounded (a substring of the input text)" in local
    result = extract.Extractor(ScriptedBackend(['{"title":"a","entities":[]}'])).run(Story, "a b")
    hosted = result.report.render().split("validated after decoding", 1)[1]
    assert "/properties/title: x-grounded (aligned to the input text)" in hosted


def test_the_highlight_command_shows_a_run(tmp_path: Any, capsys: Any) -> None:
    from extract.apps.cli import main

    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "d1", "text": "Name1 met Name2."}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["run", "--schema", "tests.unit.test_grounding:People", "--input", str(docs),
            "--output", str(out), "--backend", "tests.grounding_fakes:name_finder",
            "--no-cache", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    line = json.loads(out.read_text())
    assert line["spans"] == {"/entities/0/text": [0, 5], "/entities/1/text": [10, 15]}
    page = tmp_path / "page.html"
    assert main(["highlight", "--data", str(out), "--input", str(docs), "--output", str(page)]) == 0
    html = page.read_text()
    assert "data-path='/entities/0/text'" in html and ">Name2</mark>" in html
    assert main(["highlight", "--data", str(out), "--output", str(page)]) == 2  # no texts
    assert "give their documents with --input" in capsys.readouterr().err
