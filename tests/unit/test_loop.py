"""extract.Loop with a scripted teacher: choice per field, state on disk, the queue."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import extract
from extract.testing import ScriptedBackend
from tests import fault_counts


class Person(BaseModel):
    name: str
    city: str | None = None


def text_of(name: str, city: str, sure: float = 0.9) -> str:
    return f"Name: {name}. City: {city}. Sure: {sure}"


class Teacher:
    """Without examples right about the city alone, with examples about the name
    alone; its confidence is the number the text gives."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def run(self, target: Any, text: str, examples: Any = None, **options: Any) -> Any:
        name, city, sure = re.findall(r"Name: (.*?)\. City: (.*?)\. Sure: ([\d.]+)$", text)[0]
        shown = 0 if examples is None else len(examples.pick(text))
        self.calls.append((text, shown))
        shown_some = examples is not None
        answer = {"name": name if shown_some else "?", "city": "?" if shown_some else city}
        result = extract.Extractor(ScriptedBackend([json.dumps(answer)])).run(target, text)
        return replace(result, confidence={"/name": float(sure)}, confidence_source="tokens")


PEOPLE = [(f"Ann{i}", f"Oslo{i}") for i in range(12)]


def test_each_field_comes_from_the_system_that_scored_best_on_it(tmp_path: Path) -> None:
    teacher = Teacher()
    loop = extract.Loop(Person, teacher, tmp_path, retrain_every=0, min_documents=3)
    first = loop.suggest(text_of("Bo", "Rome"))
    assert first.system == "teacher" and first.value == Person(name="?", city="Rome")
    assert [c.member for c in first.candidates] == ["teacher"]  # no answers: no examples
    for i, (name, city) in enumerate(PEOPLE[:5]):
        text = text_of(name, city)
        r = loop.suggest(text, f"d{i}")
        loop.answer(f"d{i}", text, Person(name=name, city=city))
    report = loop.report()
    assert report.answers == 5
    # Scored on the 4 documents answered after the first answer made "nearest" available:
    assert report.evidence["nearest"]["/name"][0] == 4
    assert report.f1("nearest", "/name") == 1.0 and report.f1("teacher", "/name") == 0.0
    assert report.chosen == {"/name": "nearest", "/city": "teacher"}
    r = loop.suggest(text_of("Cy", "Bern"))
    assert r.value == Person(name="Cy", city="Bern")
    assert r.systems == {"/name": "nearest", "/city": "teacher"}
    assert r.system == "nearest, teacher"
    assert r.confidence == {"/name": 0.9}  # each field's confidence from its own system
    assert {c.member for c in r.candidates} == {"nearest", "teacher", "vote"}
    assert "nearest" in report.render() and "/name" in report.render()


class Erring:
    """Right but on documents whose number is ``wrong`` modulo 3 (the city is "?")."""

    def __init__(self, wrong: int, examples_wrong: int | None = None) -> None:
        self.wrong, self.examples_wrong = wrong, examples_wrong

    def run(self, target: Any, text: str, examples: Any = None, **options: Any) -> Any:
        number, name, city = re.findall(r"Doc (\d+): (.*?) in (.*)$", text)[0]
        wrong = self.wrong if examples is None else self.examples_wrong
        answer = {"name": name, "city": "?" if int(number) % 3 == wrong else city}
        return extract.Extractor(ScriptedBackend([json.dumps(answer)])).run(target, text)


def test_a_vote_of_systems_that_err_on_different_documents_is_chosen(tmp_path: Path) -> None:
    loop = extract.Loop(Person, Erring(0, examples_wrong=1), tmp_path, retrain_every=0,
                        min_documents=3)  # fmt: skip
    loop._student = (None, Erring(2))  # type: ignore[assignment]  # a scripted student
    assert loop.available() == ["student", "teacher", "vote"]  # no answers: no nearest
    for i in range(9):
        text = f"Doc {i}: Ann{i} in Oslo{i}"
        r = loop.suggest(text, f"d{i}")
        vote = next(c for c in r.candidates if c.member == "vote")
        assert vote.value == Person(name=f"Ann{i}", city=f"Oslo{i}")
        loop.answer(f"d{i}", text, Person(name=f"Ann{i}", city=f"Oslo{i}"))
    report = loop.report()
    assert report.f1("vote", "/city") == 1.0
    assert max(report.f1(s, "/city") or 0 for s in ("teacher", "nearest", "student")) < 1.0
    assert report.chosen["/city"] == "vote"
    r = loop.suggest("Doc 9: Bo in Rome")  # 9 % 3 == 0: the teacher alone is wrong
    assert r.value == Person(name="Bo", city="Rome") and r.systems["/city"] == "vote"
    assert r.confidence["/city"] == pytest.approx(2 / 3)  # two of the three give it
    assert r.systems["/name"] == "student"  # all right there: ties go to the first listed


def test_answers_and_scores_survive_a_restart_and_a_folder_keeps_its_schema(
    tmp_path: Path,
) -> None:
    loop = extract.Loop(Person, Teacher(), tmp_path, retrain_every=0)
    text = text_of("Di", "Lima")
    loop.suggest(text, "a")
    loop.answer("a", text, {"name": "Di", "city": "Lima"}, spans={"/name": (6, 8)})
    loop.close()
    again = extract.Loop(Person, Teacher(), tmp_path, retrain_every=0)
    assert again.report().answers == 1
    assert again.report().evidence["teacher"]["/city"][0] == 1
    [answer] = again.store.answers()
    assert answer.value == {"name": "Di", "city": "Lima"} and answer.spans == {"/name": (6, 8)}
    again.answer("a", text, {"name": "Di", "city": None})  # a correction replaces it
    assert [a.value for a in again.store.answers()] == [{"name": "Di", "city": None}]
    assert again.report().evidence["teacher"]["/city"][0] == 1  # scored once, not again

    class Other(BaseModel):
        title: str

    with pytest.raises(extract.UsageError, match="another schema"):
        extract.Loop(Other, Teacher(), tmp_path)


def test_bad_answers_and_options_are_clear_errors(tmp_path: Path) -> None:
    loop = extract.Loop(Person, Teacher(), tmp_path, retrain_every=0)
    with pytest.raises(extract.UsageError, match="does not validate"):
        loop.answer("a", "text", {"city": "Oslo"})
    with pytest.raises(extract.UsageError, match="not in the text"):
        loop.answer("a", "text", {"name": "x"}, spans={"/name": (2, 99)})
    with pytest.raises(extract.UsageError, match="systems"):
        extract.Loop(Person, Teacher(), tmp_path, systems=["oracle"])
    with pytest.raises(extract.UsageError, match="examples"):
        extract.Loop(Person, Teacher(), tmp_path, examples=[])
    with pytest.raises(extract.UsageError, match="retrain_every"):
        extract.Loop(Person, Teacher(), tmp_path, retrain_every=-1)
    with pytest.raises(extract.UsageError, match="order"):
        loop.next(order="random")
    with pytest.raises(extract.UsageError, match="at least 2 answers"):
        loop.train()
    assert loop.report().answers == 0  # nothing was kept from the refused answers


def test_next_hands_out_queued_documents_in_order_or_least_sure_first(tmp_path: Path) -> None:
    loop = extract.Loop(Person, Teacher(), tmp_path, retrain_every=0)
    docs = [("p", text_of("A", "X", 0.8)), ("q", text_of("B", "Y", 0.2)),
            ("r", text_of("C", "Z", 0.5))]  # fmt: skip
    assert loop.add(docs) == 3
    assert loop.add([{"id": "p", "text": "again"}]) == 0  # queued before: kept as it was
    first = loop.next()
    assert first is not None and first.id == "p" and first.result is not None
    least = loop.next(order="uncertain", lookahead=3)
    assert least is not None and (least.id, least.sureness) == ("q", 0.2)
    for ident, text in docs:
        loop.answer(ident, text, {"name": "x"})
    assert loop.next() is None and loop.report().queued == 3


def test_every_answer_returned_from_is_on_disk_after_kill_9(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import extract
        from test_loop import Person, Teacher
        loop = extract.Loop(Person, Teacher(), {str(tmp_path)!r}, retrain_every=0)
        start = int(sys.argv[1])
        for i in range(start, start + 100000):
            loop.answer(f"d{{i}}", f"text {{i}}", {{"name": f"n{{i}}"}})
            print(i, flush=True)
        """
    )
    acknowledged: list[int] = []
    kills = 3
    for round_ in range(kills):
        start = round_ * 1000
        command = [sys.executable, "-c", script, str(start)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                acknowledged.append(int(line))
                if int(line) >= start + 40 + 10 * round_:
                    break
            os.kill(child.pid, signal.SIGKILL)
    loop = extract.Loop(Person, Teacher(), tmp_path, retrain_every=0)
    kept = {a.id for a in loop.store.answers()}
    assert {f"d{i}" for i in acknowledged} <= kept
    assert len(kept) <= len(acknowledged) + kills  # at most the one being written per kill
    fault_counts.record("loop-answer-kill", inputs=len(acknowledged), faults=kills,
                        accounted=len(kept & {f"d{i}" for i in acknowledged}))  # fmt: skip
