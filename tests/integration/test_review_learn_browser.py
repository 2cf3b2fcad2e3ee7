"""``extract review --learn`` in a real browser, with the embedded model as the teacher:
the loop's suggestion fills the form, the page says which system made it, answers
reach the loop, and a server killed with SIGKILL comes back with nothing lost."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from extract.apps.loop._store import Store
from tests.corpus.synthetic import contacts
from tests.integration import test_review_browser
from tests.integration.test_review_browser import ROOT, page  # noqa: F401 - a fixture

DOCS = contacts(3, seed=5)

pytestmark = [*test_review_browser.pytestmark, pytest.mark.model]


class Server:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[str] | None = None
        data = folder / "docs.jsonl"
        data.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n"
                                for d in DOCS), encoding="utf-8")  # fmt: skip

    def start(self) -> str:
        command = [sys.executable, "-m", "extract", "review", "--schema", "tests.corpus:Contact",
                   "--data", str(self.folder / "docs.jsonl"), "--out",
                   str(self.folder / "reviewed.jsonl"), "--learn", str(self.folder / "loop"),
                   "--port", "0"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert " at http://127.0.0.1:" in line and "learning in" in line, line
        return line.split(" at ", 1)[1].split(" ", 1)[0]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def answers(self) -> dict[str, object]:
        store = Store(self.folder / "loop" / "loop.sqlite")
        try:
            return {a.id: a.value for a in store.answers()}
        finally:
            store.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    yield server
    server.stop()


def notices(shown: Page) -> str:
    return " | ".join(shown.locator(".notice").all_inner_texts())


def test_a_learning_review_in_chromium(server: Server, page: Page) -> None:  # noqa: F811
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.goto(server.start(), timeout=120_000)
    assert DOCS[0]["id"] in page.title()
    assert "Suggested by the loop: /name by teacher" in notices(page)
    assert "Learning from 0 answers; no student yet." in notices(page)
    page.fill("input[name='v/name']", DOCS[0]["gold"]["name"])
    with page.expect_navigation(timeout=120_000):
        page.keyboard.press("Control+Enter")
    assert server.answers()[DOCS[0]["id"]]["name"] == DOCS[0]["gold"]["name"]  # type: ignore[index]
    assert DOCS[1]["id"] in page.title()
    assert "Learning from 1 answer; no student yet." in notices(page)

    server.stop(signal.SIGKILL)  # nothing the loop was told is lost
    page.goto(server.start(), timeout=120_000)
    assert DOCS[1]["id"] in page.title() and "Learning from 1 answer;" in notices(page)
    page.keyboard.press("Escape")
    with page.expect_navigation(timeout=120_000):
        page.keyboard.press("a")
    assert list(server.answers()) == [DOCS[0]["id"], DOCS[1]["id"]]
    assert "F1 so far:" in notices(page)  # the second document's suggestion was scored
    assert failures == []
