"""extract.evaluate, Dataset, EvalReport and `extract eval`, without a model."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import extract
from extract import Dataset, EvalReport, Extractor, UsageError
from extract.apps.cli import main
from tests.eval_fakes import AnswerInText


class Person(BaseModel):
    name: str
    city: str | None = None
    age: int | None = None


GOLD = [
    {"name": "Ann Lee", "city": "Oslo", "age": 30},
    {"name": "Bo Ek", "city": "Rome", "age": None},
    {"name": "Cy Dahl", "city": None, "age": 41},
]
# What the documents make the fake answer: doc 1 right, doc 2 a wrong city, doc 3 crashes.
ANSWERS = [GOLD[0], {"name": "Bo Ek", "city": "Paris"}, None]


def _text(i: int) -> str:
    answer = ANSWERS[i]
    return f"Document {i}. " + ("CRASH" if answer is None else f"ANSWER: {json.dumps(answer)}")


def _records() -> list[tuple[str, str, dict[str, Any]]]:
    return [(f"d{i}", _text(i), GOLD[i]) for i in range(3)]


def _write_gold(path: Path, extra: list[dict[str, Any]] = ()) -> Path:  # type: ignore[assignment]
    rows = [{"id": i, "text": t, "gold": g} for i, t, g in _records()] + list(extra)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_one_system_scored_by_hand() -> None:
    report = extract.evaluate(Person, _records(), Extractor(AnswerInText()), max_retries=0)
    figures = report.to_json()["systems"]["fake:answer-in-text"]
    # name: d0 tp, d1 tp, d2 fn. city: d0 tp, d1 fp+fn, d2 nothing. age: d0 tp, d2 fn.
    assert figures["fields"]["/name"] == {
        "precision": 1.0,
        "recall": 2 / 3,
        "f1": 0.8,
        "support": 3,
    }
    assert (
        figures["fields"]["/city"]["precision"] == 0.5
        and figures["fields"]["/city"]["recall"] == 0.5
    )
    assert figures["fields"]["/age"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert figures["micro"] == {
        "precision": 0.8,
        "recall": 4 / 7,
        "f1": 2 * 0.8 * (4 / 7) / (0.8 + 4 / 7),
    }
    assert figures["valid"] == 2 / 3 and figures["errors"] == {"RuntimeError": 1}
    crashed = report.to_json()["documents"][2]
    assert (crashed["valid"], crashed["error_type"], crashed["prediction"]) == (
        False,
        "RuntimeError",
        None,
    )


def test_totals_recompute_from_the_saved_documents(tmp_path: Path) -> None:
    systems = {"plain": {}, "forgetful": {"instructions": "FORGET CITY"}}
    report = extract.evaluate(Person, _records(), systems, extractor=Extractor(AnswerInText()),
                              max_retries=0)  # fmt: skip
    saved = tmp_path / "report.json"
    report.save(saved)
    data = json.loads(saved.read_text())
    # Recomputed here from the per-document verdicts alone, then by EvalReport.
    for name, figures in data["systems"].items():
        rows = [d for d in data["documents"] if d["system"] == name]
        tp = sum(c["tp"] for d in rows for c in d["fields"].values())
        fp = sum(c["fp"] for d in rows for c in d["fields"].values())
        fn = sum(c["fn"] for d in rows for c in d["fields"].values())
        assert figures["micro"]["precision"] == pytest.approx(tp / (tp + fp))
        assert figures["micro"]["recall"] == pytest.approx(tp / (tp + fn))
    assert EvalReport.load(saved).to_json() == data
    # The instructions reached the backend and changed the answers: city is never given.
    assert data["systems"]["forgetful"]["fields"]["/city"]["recall"] == 0.0
    assert data["systems"]["plain"]["fields"]["/city"]["recall"] == 0.5


def test_systems_are_interleaved_and_repeated() -> None:
    backend = AnswerInText()
    systems = {"a": {}, "b": {"instructions": "FORGET CITY"}}
    report = extract.evaluate(Person, _records()[:2], systems, extractor=Extractor(backend),
                              repeat=2, max_retries=0)  # fmt: skip
    order = [(d.run, d.id, d.system) for d in report.documents]
    assert order == [(k, f"d{i}", s) for k in (0, 1) for i in (0, 1) for s in ("a", "b")]
    figures = report.to_json()["systems"]["a"]
    assert figures["runs"] == [figures["micro"]["f1"]] * 2 and figures["spread"]["f1"] == 0.0
    assert figures["documents"] == 2 and len(backend.requests) == 8


def test_dataset_reports_bad_lines_by_number(tmp_path: Path) -> None:
    good = _write_gold(tmp_path / "g.jsonl")
    assert len(Dataset.from_jsonl(good, Person)) == 3
    cases = {
        "not JSON": "{oops\n",
        'no "text"': json.dumps({"id": "x", "gold": GOLD[0]}) + "\n",
        'no "gold"': json.dumps({"id": "x", "text": "t"}) + "\n",
        "gold does not validate": json.dumps({"id": "x", "text": "t", "gold": {"age": 3}}) + "\n",
        "appears twice": json.dumps({"id": "d0", "text": "t", "gold": GOLD[0]}) + "\n",
    }
    for message, line in cases.items():
        bad = tmp_path / "bad.jsonl"
        bad.write_text(good.read_text() + "\n" + line, encoding="utf-8")
        with pytest.raises(UsageError, match=message) as caught:
            Dataset.from_jsonl(bad, Person)
        if message != "appears twice":
            assert f"{bad}:5" in str(caught.value)  # the line, counting the blank one
    with pytest.raises(UsageError, match="cannot read gold data"):
        Dataset.from_jsonl(tmp_path / "missing.jsonl", Person)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"text": "caf\xe9", "gold": {"name": "x"}}\n')
    with pytest.raises(UsageError, match="not UTF-8"):
        Dataset.from_jsonl(latin, Person)


def test_review_answers_reject_and_skip_are_left_out(tmp_path: Path) -> None:
    rows = [{"id": "r1", "text": "t", "gold": GOLD[0], "answer": "accept"},
            {"id": "r2", "text": "t", "gold": GOLD[1], "answer": "reject"},
            {"id": "r3", "text": "t", "gold": GOLD[2], "answer": "skip"}]  # fmt: skip
    path = tmp_path / "reviewed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = Dataset.from_jsonl(path, Person)
    assert [d.id for d in data] == ["r1"] and data.left_out == 2
    assert data.documents[0].gold == Person(**GOLD[0])


def test_bad_arguments_are_usage_errors() -> None:
    ex = Extractor(AnswerInText())
    with pytest.raises(UsageError, match="repeat"):
        extract.evaluate(Person, _records(), ex, repeat=0)
    with pytest.raises(UsageError, match="unknown option"):
        extract.evaluate(Person, _records(), {"a": {"temprature": 1}}, extractor=ex)
    with pytest.raises(UsageError, match="no documents"):
        extract.evaluate(Person, [], ex)
    with pytest.raises(UsageError, match="system 'a'"):
        extract.evaluate(Person, _records(), {"a": 3})


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[dict[str, str | None]] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if "data-f1" in found:
            self.cells.append(found)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_the_html_page_is_self_contained_and_shows_every_field() -> None:
    report = extract.evaluate(Person, _records(), Extractor(AnswerInText()), max_retries=0)
    page = _Page()
    page.feed(report.to_html())
    assert "script" not in page.tags and page.urls == []
    assert sorted(float(c["data-f1"] or 0) for c in page.cells) == sorted(
        round(f["f1"], 3)
        for f in report.to_json()["systems"]["fake:answer-in-text"]["fields"].values()
    )
    assert page.tags.count("details") == 3  # one per document


def test_the_eval_command_compares_two_prompts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = _write_gold(tmp_path / "gold.jsonl")
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    argv = ["eval", "--schema", "tests.unit.test_eval:Person", "--data", str(gold),
            "--backend", "tests.eval_fakes:answer_in_text", "--system", "plain=",
            "--system", 'forgetful={"instructions": "FORGET CITY"}', "--max-retries", "0",
            "--json", str(out), "--html", str(page), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    shown = capsys.readouterr().out
    assert "plain" in shown and "forgetful" in shown and "/city" in shown
    data = json.loads(out.read_text())
    assert data["systems"]["plain"]["fields"]["/city"]["f1"] == 0.5
    assert data["systems"]["forgetful"]["fields"]["/city"]["f1"] == 0.0
    assert page.read_text().startswith("<!doctype html>")
    # against itself as the baseline: every change is zero
    assert main([*argv[:-5], "--baseline", str(out), "--quiet"]) == 0
    compared = capsys.readouterr().out.split("F1 against the baseline", 1)[1]
    changes = re.findall(r"[+-]\d\.\d{3}", compared)
    assert len(changes) == 2 * (1 + 3) and set(changes) == {"+0.000"}  # micro + 3 fields
    # a baseline that cannot be read stops the command before any document runs
    assert main([*argv[:-5], "--baseline", str(tmp_path / "none.json"), "--quiet"]) == 2
    assert "cannot read the report" in capsys.readouterr().err
    too_many = [*argv[:7], "--system", 'shots={"examples": 3}', "--quiet"]
    assert main(too_many) == 2
    assert "leave none of the 3" in capsys.readouterr().err
    assert main(["eval", "--schema", "tests.unit.test_eval:Person", "--data", str(gold),
                 "--system", "x={oops"]) == 2  # fmt: skip


def test_examples_counted_from_the_gold_data_are_not_scored(tmp_path: Path) -> None:
    gold = _write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "r.json"
    argv = ["eval", "--schema", "tests.unit.test_eval:Person", "--data", str(gold),
            "--backend", "tests.eval_fakes:answer_in_text", "--system", "plain=",
            "--system", 'shots={"examples": 1}', "--json", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert {d["id"] for d in data["documents"]} == {"d1", "d2"}  # d0 was the example
    assert data["left_out"] == 1 and data["systems"]["shots"]["documents"] == 2


def test_an_example_that_is_also_scored_is_noted() -> None:
    records = _records()[:2]
    shots = {"examples": [(records[0][1], Person(**GOLD[0]))]}
    report = extract.evaluate(
        Person, records, {"shots": shots}, extractor=Extractor(AnswerInText())
    )
    assert report.notes == ["shots: 1 scored documents are also its examples"]
    assert report.notes[0] in report.render()


def test_repeats_give_the_mean_and_spread_of_each_run() -> None:
    records = [("f", f"FLIP ANSWER: {json.dumps(GOLD[0])}", GOLD[0])]
    report = extract.evaluate(Person, records, Extractor(AnswerInText()), repeat=2, max_retries=0)
    figures = report.to_json()["systems"]["fake:answer-in-text"]
    assert figures["runs"] == [1.0, 0.8]  # the second run forgets the city: tp 2, fn 1
    assert figures["spread"] == {"mean_f1": 0.9, "f1": pytest.approx(0.1)}
    assert "0.900 ±0.100" in report.render(width=200)


def test_a_failed_run_keeps_what_it_spent() -> None:
    records = [("bad", "INVALID", GOLD[0])]
    report = extract.evaluate(Person, records, Extractor(AnswerInText()), max_retries=1)
    run = report.documents[0]
    assert (run.error_type, run.attempts, run.prompt_tokens) == ("ExtractionError", 2, 20)
    assert "no run gave a record (1 ExtractionError" in report.render()


def test_names_are_shown_as_written() -> None:
    report = extract.evaluate(Person, _records()[:1], {"[v2]": Extractor(AnswerInText())})
    assert "[v2]" in report.render()


def test_nearest_examples_in_eval_are_never_the_document_itself(tmp_path: Path) -> None:
    """The fake answers whatever document it is shown first: shown its own gold, a
    document would score perfectly; shown its nearest other one, it cannot."""
    gold = _write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "r.json"
    argv = ["eval", "--schema", "tests.unit.test_eval:Person", "--data", str(gold),
            "--backend", "tests.eval_fakes:answer_in_text", "--system", "plain=",
            "--system", 'near={"examples": "nearest:1"}', "--max-retries", "0",
            "--json", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert data["left_out"] == 0 and data["systems"]["near"]["documents"] == 3
    near = {d["id"]: d for d in data["documents"] if d["system"] == "near"}
    assert all(d["prediction"] != d["gold"] for d in near.values())
    assert data["systems"]["plain"]["micro"]["f1"] > data["systems"]["near"]["micro"]["f1"]
    bad = [*argv[:9], "--system", 'near={"examples": "nearest:0"}', "--quiet"]
    assert main(bad) == 2


def test_run_shows_each_document_its_nearest_reviewed_records(tmp_path: Path) -> None:
    gold = _write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "out.jsonl"
    argv = ["run", "--schema", "tests.unit.test_eval:Person", "--input", str(gold),
            "--backend", "tests.eval_fakes:answer_in_text", "--examples", str(gold),
            "--nearest", "1", "--max-retries", "0", "--no-cache", "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    lines = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    # The fake answers the first text it is shown: another document's, never its own.
    assert set(lines) == {"d0", "d1", "d2"}
    assert lines["d0"]["value"] != ANSWERS[0] and lines["d1"]["value"] != ANSWERS[1]
    answered = [line["value"] for line in lines.values() if "value" in line]
    assert answered and all(value in (GOLD[0], {**ANSWERS[1], "age": None}) for value in answered)
    assert main([*argv[:-2], "--nearest", "0", "--output", str(out)]) == 2
