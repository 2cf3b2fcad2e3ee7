"""The review page on a Loop: its suggestions as the forms' start, answers that teach it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import extract
from extract import UsageError
from extract.apps.review import Store, load_items
from extract.apps.review._app import Review, create_app
from tests.unit.test_loop import Person, Teacher, text_of
from tests.unit.test_review_app import form_of, post, write

PEOPLE = [("Ann", "Oslo", 0.9), ("Bo", "Rome", 0.2), ("Cy", "Bern", 0.6), ("Di", "Lima", 0.7)]
DOCS = [{"id": f"d{i}", "text": text_of(*p)} for i, p in enumerate(PEOPLE)]


def open_review(tmp_path: Path, order: str = "input") -> tuple[Review, extract.Loop, Store]:
    items = load_items(write(tmp_path / "docs.jsonl", DOCS), predicted=False)
    store = Store(tmp_path / "db.sqlite", tmp_path / "reviewed.jsonl")
    store.add(items)
    loop = extract.Loop(Person, Teacher(), tmp_path / "loop", retrain_every=0, min_documents=1)
    return Review(Person, items, store, order=order, loop=loop), loop, store


def value_of(page: Any, field: str) -> str:
    return dict(form_of(page.text))[f"v/{field}"]


def test_each_answer_teaches_the_loop_that_suggests_the_next_form(tmp_path: Path) -> None:
    review, loop, store = open_review(tmp_path)
    with TestClient(create_app(review, allowed_hosts=["testserver"])) as client:
        page = client.get("/")
        assert "d0" in page.text and value_of(page, "name") == "?"  # the teacher's guess
        assert value_of(page, "city") == "Oslo"
        assert "Suggested by the loop: /name by teacher, /city by teacher" in page.text
        assert "Learning from 0 answers; no student yet" in page.text
        fields = [(k, "Ann" if k == "v/name" else v) for k, v in form_of(page.text)]
        page = post(client, "/doc/0", [*fields, ("_action", "accept")])
        assert [a.value for a in loop.store.answers()] == [{"name": "Ann", "city": "Oslo"}]

        # d1: the first answer makes nearest examples available; nearest is not yet
        # scored, so the teacher still suggests. Answering scores both.
        assert "d1" in page.text and value_of(page, "name") == "?"
        fields = [(k, "Bo" if k == "v/name" else v) for k, v in form_of(page.text)]
        page = post(client, "/doc/1", [*fields, ("_action", "accept")])

        # d2: nearest was right about the name on d1, the teacher wrong: nearest names it.
        assert "d2" in page.text and value_of(page, "name") == "Cy"
        assert value_of(page, "city") == "Bern"  # the teacher still gives the city
        assert "/name by nearest, /city by teacher" in page.text
        assert (
            "Learning from 2 answers; no student yet. F1 so far: the suggestions 0.50 (2 "
            "documents), nearest 0.50 (1 document), teacher 0.50 (2 documents), vote 0.50 "
            "(1 document)." in page.text
        )
        page = post(client, "/doc/2", [*form_of(page.text), ("_action", "accept")])
        assert [a.id for a in loop.store.answers()] == ["d0", "d1", "d2"]

        token = re.findall(r'name="_token" value="([^"]+)"', page.text)[0]
        post(client, "/undo", {"_token": token})
        assert [a.id for a in loop.store.answers()] == ["d0", "d1"]  # the loop forgets it too
        page = client.get("/doc/3")
        post(client, "/doc/3", [*form_of(page.text), ("_action", "reject")])
        assert "d3" not in {a.id for a in loop.store.answers()}  # a rejection teaches nothing
    store.close()


def test_least_sure_first_picks_among_the_next_few_suggestions(tmp_path: Path) -> None:
    review, _, store = open_review(tmp_path, order="uncertain")
    with TestClient(create_app(review, allowed_hosts=["testserver"])) as client:
        page = client.get("/")
        assert re.findall(r"<title>(\w+) \(", page.text) == ["d1"]  # confidence 0.2
        page = post(client, "/doc/1", [*form_of(page.text), ("_action", "skip")])
        assert re.findall(r"<title>(\w+) \(", page.text) == ["d2"]  # then 0.6
    store.close()


def test_documents_without_predictions_need_a_loop(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match='neither a "value" nor an "error"'):
        load_items(write(tmp_path / "docs.jsonl", DOCS))
