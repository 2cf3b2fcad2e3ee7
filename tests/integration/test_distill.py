"""Distillation: gold records -> spaCy training documents -> the student's records.

Property-based: spans given with records come back identical (or are reported, never
moved); found values sit on their exact text; a student that predicts exactly the
training spans assembles the gold record again; any prediction assembles into a record
that validates or fails with the validator's reasons. End to end: `extract distill` on
generated contacts, served by `Extractor("spacy:...")`, scored by the harness.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, Optional

import pytest
import spacy
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

import extract
from extract.apps.distill import prepare_documents
from extract.apps.distill._prepare import PrepareReport, prepare, unique_lists, written_forms
from extract.backends.spacy_student import Predicted, SpanScheme, assemble, convert
from extract.schemas import field_pattern
from tests.corpus import Contact
from tests.corpus.synthetic import contacts

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = spacy.blank("en").tokenizer


class Part(BaseModel):
    code: str
    kind: Literal["new", "used"]


class Record(BaseModel):
    title: str
    place: Optional[str] = None
    count: Optional[int] = None
    urgent: bool
    parts: list[Part]


SCHEMA = TypeAdapter(Record).json_schema(by_alias=True)

WORDS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzÄé"), min_size=1, max_size=8)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, tuple[int, int]]]:
    """A text of words, a record whose values are runs of its words, and their spans."""
    words = draw(st.lists(WORDS, min_size=8, max_size=30))
    seps = draw(
        st.lists(
            st.sampled_from([" ", "\n", ", ", " - "]), min_size=len(words), max_size=len(words)
        )
    )
    text, offsets = "", []
    for word, sep in zip(words, seps, strict=True):
        offsets.append((len(text), len(text) + len(word)))
        text += word + sep
    cuts = sorted(draw(st.sets(st.integers(0, len(words) - 1), min_size=2, max_size=6)))
    runs = [(offsets[i][0], offsets[i][1]) for i in cuts]  # one word each: no overlaps
    spans: dict[str, tuple[int, int]] = {"/title": runs[0]}
    gold: dict[str, Any] = {
        "title": text[slice(*runs[0])],
        "urgent": draw(st.booleans()),
        "parts": [],
    }
    rest = runs[1:]
    if rest and draw(st.booleans()):
        spans["/place"] = rest.pop(0)
        gold["place"] = text[slice(*spans["/place"])]
    for i, run in enumerate(rest):
        spans[f"/parts/{i}/code"] = run
        gold["parts"].append(
            {"code": text[slice(*run)], "kind": draw(st.sampled_from(["new", "used"]))}
        )
    return text, gold, spans


@settings(max_examples=200, deadline=None)
@given(documents())
def test_given_spans_come_back_identical_and_reassemble_the_record(doc: Any) -> None:
    text, gold, spans = doc
    scheme = SpanScheme.from_schema(SCHEMA)
    prepared = prepare(scheme, TOKENIZER, "d", text, gold, spans)
    assert prepared.problems == []
    assert prepared.pointers == spans
    # Training documents as spaCy reads them: every entity on its characters.
    made = TOKENIZER(text)
    ents = [made.char_span(s, e, label=label) for s, e, label, _ in prepared.entities]
    assert [(e.start_char, e.end_char) for e in ents if e is not None] == sorted(spans.values())
    # A student that predicts exactly these spans and categories gives the gold back.
    predicted = [Predicted(label, s, e, text[s:e]) for s, e, label, _ in prepared.entities]
    record, where = assemble(scheme, predicted, prepared.cats)
    assert TypeAdapter(Record).validate_python(record) == Record.model_validate(gold)
    assert where == spans


@settings(max_examples=100, deadline=None)
@given(documents(), st.data())
def test_spans_off_token_boundaries_are_reported_never_moved(doc: Any, data: st.DataObject) -> None:
    text, gold, spans = doc
    pointer = data.draw(st.sampled_from(sorted(spans)))
    start, end = spans[pointer]
    if end - start < 2:
        return
    cut = dict(spans, **{pointer: (start + 1, end)})  # starts inside a word
    scheme = SpanScheme.from_schema(SCHEMA)
    report = PrepareReport()
    prepared = prepare(scheme, TOKENIZER, "d", text, gold, cut, report)
    assert pointer not in prepared.pointers and not prepared.spans_complete
    assert any("token boundaries" in p for p in prepared.problems)
    assert report.left_out == [("d", prepared.problems)]
    assert all(prepared.pointers[p] == spans[p] for p in prepared.pointers)


@settings(max_examples=100, deadline=None)
@given(documents())
def test_values_found_without_spans_sit_on_their_text(doc: Any) -> None:
    text, gold, _ = doc
    scheme = SpanScheme.from_schema(SCHEMA)
    prepared = prepare(scheme, TOKENIZER, "d", text, gold)
    for pointer, (s, e) in prepared.pointers.items():
        keys = pointer.split("/")[1:]
        value: Any = gold
        for key in keys:
            value = value[int(key)] if isinstance(value, list) else value[key]
        assert text[s:e] == value
    spans = sorted(prepared.pointers.values())
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no overlaps


LABELS = st.sampled_from(["/title", "/place", "/count", "/parts/*/code [kind=\"new\"]",
                          "/parts/*/code [kind=\"used\"]", "/parts/*/code", "nonsense"])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=40),
    st.lists(st.tuples(LABELS, st.integers(0, 40), st.integers(0, 40)), max_size=8),
    st.dictionaries(st.sampled_from(["/urgent=true", "/urgent=false"]), st.floats(0, 1)),
)
def test_any_prediction_validates_or_says_why(text: str, ents: Any, cats: dict[str, float]) -> None:
    scheme = SpanScheme.from_schema(SCHEMA)
    for label in ('/parts/*/code [kind="new"]', '/parts/*/code [kind="used"]'):
        scheme.span_labels[label] = ["/parts/*/code", {"/parts/*/kind": label.split('"')[1]}]
    predicted = [
        Predicted(label, min(a, b), max(a, b), text[min(a, b) : max(a, b)]) for label, a, b in ents
    ]
    record, where = assemble(scheme, predicted, cats)
    try:
        value = Record.model_validate_json(json.dumps(record))
    except ValidationError as exc:
        assert exc.errors()  # the reasons, field by field
        return
    assert value.urgent == (cats.get("/urgent=true", 0.0) > cats.get("/urgent=false", 0.0))
    for pointer, (s, e) in where.items():  # each value comes from its span's text
        node: Any = record
        for key in pointer.split("/")[1:]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        assert node == convert(text[s:e], scheme.spans[field_pattern(pointer)])


@given(
    st.integers(-(10**9), 10**9) | st.floats(-1e9, 1e9, allow_nan=False).map(lambda f: round(f, 2))
)
@example(100000.5)  # ":g" would write it "100000"
def test_a_number_written_any_usual_way_converts_back(value: float) -> None:
    kind = "integer" if isinstance(value, int) else "number"
    for form in written_forms(value, kind):
        assert convert(form, kind) == value, form


def test_dates_in_common_spellings_convert_to_iso() -> None:
    for form in written_forms("2026-03-04", "date"):
        assert convert(form, "date") == "2026-03-04", form
    assert convert("soon", "date") == "soon"  # left for the validator to name


def test_the_scheme_of_a_target() -> None:
    scheme = SpanScheme.from_schema(SCHEMA)
    assert scheme.spans == {
        "/title": "text",
        "/place": "text",
        "/count": "integer",
        "/parts/*/code": "text",
    }
    assert scheme.labels == {"/urgent": [True, False]}
    assert scheme.item_choices == {"/parts/*/kind": ["new", "used"]}
    assert scheme.lists == ["/parts"] and scheme.nullable == ["/place", "/count"]


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("distill")
    data = folder / "reviewed.jsonl"
    rows = [dict(r, answer="accept") for r in contacts(150, seed=3)]
    rows.append({"id": "rejected", "text": "x", "gold": None, "answer": "reject"})
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = folder / "student"
    done = subprocess.run(
        [sys.executable, "-m", "extract", "distill", "--schema", "tests.corpus:Contact",
         "--data", str(data), "--out", str(out), "--epochs", "6"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "150 documents; 150 with every value on a span" in done.stderr
    assert "trained in" in done.stderr and "30 held out" in done.stderr
    return out


def test_distill_starts_from_an_earlier_student(student: Path, tmp_path: Path) -> None:
    data = tmp_path / "more.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in contacts(40, seed=5)), encoding="utf-8")
    command = [sys.executable, "-m", "extract", "distill", "--schema", "tests.corpus:Contact",
               "--data", str(data), "--out", str(tmp_path / "again"), "--epochs", "2",
               "--warm-from"]  # fmt: skip
    done = subprocess.run([*command, str(student / "model-best")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "from the earlier student" in done.stderr
    f1 = extract.evaluate(Contact, contacts(20, seed=78, prefix="test"),
                          {"s": extract.Extractor(f"spacy:{tmp_path / 'again'}")})  # fmt: skip
    assert f1.summary("s").micro.f1 >= 0.9  # and it serves
    missing = subprocess.run([*command, str(tmp_path / "nothing")], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert missing.returncode == 2 and "not a spaCy pipeline" in missing.stderr


def test_the_student_serves_typed_records_with_spans(student: Path) -> None:
    extractor = extract.Extractor(f"spacy:{student}")
    test = contacts(40, seed=77, prefix="test")
    report = extract.evaluate(Contact, test, {"student": extractor})
    summary = report.summary("student").to_json()
    assert summary["valid"] == 1.0 and summary["micro"]["f1"] >= 0.9, report.render()
    doc = test[0]
    result = extractor.run(Contact, doc["text"])
    assert isinstance(result.value, Contact) and result.model == f"spacy:{student}"
    for pointer, (s, e) in result.spans.items():
        assert doc["text"][s:e] == getattr(result.value, pointer[1:])
    loaded = extract.Extractor(spacy.load(student / "model-best"))  # a loaded pipeline too
    assert loaded.run(Contact, doc["text"]).value == result.value
    with pytest.raises(extract.ExtractionError, match="name") as failed:
        extractor.run(Contact, "")  # nothing to find: the required name is missing
    assert len(failed.value.attempts) == 1  # a re-ask could not change the answer


def test_every_verb_on_the_student(student: Path) -> None:
    from tests.unit.test_verbs import check_every_verb

    doc = contacts(1, seed=78, prefix="verbs")[0]
    value = check_every_verb(extract.Extractor(f"spacy:{student}"), Contact, doc["text"])
    assert isinstance(value, Contact)


def test_the_training_data_is_exported_and_the_config_kept(student: Path) -> None:
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(student / "corpus" / "train.spacy").get_docs(nlp.vocab))
    lines = [json.loads(x) for x in (student / "corpus" / "train.jsonl").read_text().splitlines()]
    assert len(docs) == len(lines) == 120
    for doc, line in zip(docs, lines, strict=True):
        assert doc.text == line["text"]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
            (s["start"], s["end"], s["label"]) for s in line["spans"]
        ]
    config = spacy.util.load_config(student / "config.cfg")
    assert config["nlp"]["pipeline"] == ["tok2vec", "ner"]
    assert (student / "model-best" / "meta.json").exists()


def test_documents_whose_values_are_not_in_the_text_are_reported(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "text": "Ada Lovelace, London",
            "gold": {"name": "Ada Lovelace", "city": "Paris"},
        }
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, _, docs, report = prepare_documents(Contact, path)
    assert docs[0].problems == ["/city: 'Paris' is not in the text"]
    assert "left out of span training: a" in report.render()


class Entity(BaseModel):
    text: str
    kind: Literal["person", "place"]


NAMES = st.lists(
    st.tuples(
        st.sampled_from(["Ada", "Bo", "Cy", "Di", "Ed", "Flo"]),
        st.sampled_from(["person", "place"]),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda pair: pair[0],
)


@settings(max_examples=100, deadline=None)
@given(NAMES, st.data())
def test_an_entity_mentioned_again_is_labelled_again_and_listed_once(
    names: list[tuple[str, str]], data: st.DataObject
) -> None:
    mentions = data.draw(st.lists(st.sampled_from(range(len(names))), max_size=6))
    order = list(range(len(names))) + mentions  # each once first, then repeats
    text = " and ".join(names[i][0] for i in order) + "."
    gold = [{"text": name, "kind": kind} for name, kind in names]
    schema = TypeAdapter(list[Entity]).json_schema()
    scheme = SpanScheme.from_schema(schema)
    assert unique_lists(scheme, [gold]) == [""]
    assert unique_lists(scheme, [gold + gold[:1]]) == []  # a repeated item: not unique
    scheme.unique = [""]
    prepared = prepare(scheme, TOKENIZER, "d", text, gold)
    assert len(prepared.entities) == len(order)  # every mention, not only the first
    assert all(text[s:e] == names[int(p.split("/")[1])][0] for s, e, _, p in prepared.entities)
    predicted = [Predicted(label, s, e, text[s:e]) for s, e, label, _ in prepared.entities]
    record, where = assemble(scheme, predicted, prepared.cats)
    assert record == gold  # listed once, in order of first mention
    assert where == prepared.pointers
    unlisted = SpanScheme.from_json({**scheme.to_json(), "unique": []})
    assert len(assemble(unlisted, predicted, prepared.cats)[0]) == len(order)
