"""The loop's student: trained in the background by spaCy, swapped in atomically, and
left in place by a training that fails or is killed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import extract
from extract.apps.loop import _train
from extract.testing import FakeBackend
from tests.corpus import News
from tests.corpus.synthetic_news import news_items

ITEMS = news_items(60, seed=11)


def new_loop(path: Path, **options: Any) -> extract.Loop:
    teacher = extract.Extractor(FakeBackend(seed=0))  # valid and mostly wrong, instantly
    return extract.Loop(News, teacher, path, max_epochs=4, **options)


def answer(loop: extract.Loop, items: list[dict[str, Any]]) -> None:
    for item in items:
        loop.suggest(item["text"], item["id"])
        loop.answer(item["id"], item["text"], item["gold"])


def wait_for(condition: Any, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_answers_start_a_background_training_whose_student_then_suggests(tmp_path: Path) -> None:
    loop = new_loop(tmp_path, retrain_every=12, min_answers=12)
    answer(loop, ITEMS[:11])
    assert not loop.training and loop.student is None
    answer(loop, ITEMS[11:12])
    assert loop.training  # the 12th answer started it, and returned at once
    started = time.perf_counter()
    loop.suggest(ITEMS[40]["text"])  # never waits for the training
    assert time.perf_counter() - started < 5 and loop.training
    student = loop.train(wait=True)  # joins the running training
    assert student is not None and student.answers == 12 and student.seconds > 0
    assert loop.student is not None and "student" in loop.available()
    r = loop.suggest(ITEMS[41]["text"])
    assert "student" in {c.member for c in r.candidates}
    for pointer, (start, end) in r.candidates[0].result.spans.items():  # type: ignore[union-attr]
        assert 0 <= start < end <= len(ITEMS[41]["text"]), pointer
    again = new_loop(tmp_path, retrain_every=0)  # another process finds the same student
    assert again.student is not None and str(again.student.backend.name).endswith("model-best")


def test_a_killed_training_leaves_the_previous_student_and_the_next_one_cleans_up(
    tmp_path: Path,
) -> None:
    loop = new_loop(tmp_path, retrain_every=0)
    answer(loop, ITEMS[:15])
    first = loop.train(wait=True)
    assert first is not None
    answer(loop, ITEMS[15:25])
    loop.train(wait=False)
    process = loop._process
    assert process is not None
    wait_for(lambda: any((tmp_path / "students").glob(".training-*/answers.jsonl")))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert _train.current(tmp_path) == first  # the previous student stays in place
    assert loop.student is not None and loop.student.backend.name.endswith("model-best")
    second = loop.train(wait=True)
    assert second is not None and second.answers == 25 and second.model != first.model
    assert not first.warm and second.warm  # started from the first, which stayed in place
    assert "trained from the previous student" in (tmp_path / "train.log").read_text()
    assert not list((tmp_path / "students").glob(".training-*"))  # the dead one's scratch
    assert first.model.exists()  # the previous student is kept, older ones are not


def test_a_warm_start_needs_the_earlier_students_labels(tmp_path: Path) -> None:
    from extract.apps.distill import distill

    def write(name: str, items: list[dict[str, Any]], kinds: set[str]) -> Path:
        path = tmp_path / f"{name}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for item in items:
                gold = [e for e in item["gold"] if e["kind"] in kinds]
                f.write(json.dumps({"id": item["id"], "text": item["text"], "gold": gold}) + "\n")
        return path

    people = distill(News, write("people", ITEMS[:12], {"person"}), tmp_path / "a",
                     max_epochs=2, log=lambda line: None)  # fmt: skip
    more = distill(News, write("more", ITEMS[:16], {"person"}), tmp_path / "b", max_epochs=2,
                   log=lambda line: None, warm_from=people.model)  # fmt: skip
    everyone = distill(News, write("all", ITEMS[:16], {"person", "place"}), tmp_path / "c",
                       max_epochs=2, log=lambda line: None, warm_from=people.model)  # fmt: skip
    assert not people.trained.warm and more.trained.warm
    assert not everyone.trained.warm  # "place" is new: a resumed model would not learn it
    with pytest.raises(extract.UsageError, match="not a spaCy pipeline"):
        distill(News, write("gone", ITEMS[:12], {"person"}), tmp_path / "d", max_epochs=2,
                log=lambda line: None, warm_from=tmp_path / "nothing")  # fmt: skip


def test_a_training_that_fails_says_why_and_keeps_no_half_student(tmp_path: Path) -> None:
    loop = new_loop(tmp_path, retrain_every=0)
    for i in range(4):  # values that are nowhere in their text: nothing to learn spans from
        loop.answer(f"x{i}", "nothing here", [{"text": f"Ghost {i}", "kind": "person"}])
    with pytest.raises(extract.UsageError, match="training failed") as caught:
        loop.train(wait=True)
    assert "no document has all its values on spans" in str(caught.value)
    assert _train.current(tmp_path) is None and loop.student is None


def test_a_failed_background_training_is_not_retried_after_every_answer(tmp_path: Path) -> None:
    loop = new_loop(tmp_path, retrain_every=3, min_answers=3)
    ghosts = [
        (f"x{i}", "nothing here", [{"text": f"Ghost {i}", "kind": "person"}]) for i in range(8)
    ]
    for ident, text, value in ghosts[:3]:
        loop.answer(ident, text, value)
    assert loop.training
    wait_for(lambda: not loop.training)
    assert loop.training_error is not None and "training failed" in loop.training_error
    loop.answer(*ghosts[3])
    loop.answer(*ghosts[4])
    assert not loop.training  # 2 answers since the failed one: not yet
    loop.answer(*ghosts[5])
    assert loop.training  # 3 since: tried again
    wait_for(lambda: not loop.training)
