"""The review page in a real browser: Debian's Chromium, headless, through Playwright.

A person's session, by keyboard where the page offers keys: correct a nested field and
list items (fix one, add one, remove one), mark an example, accept the next unchanged,
fix a prediction that does not validate, reject a document whose text holds a
``<script>`` (which must not run), reload (the state is kept), kill the server with
SIGKILL and start it again (nothing lost), accept the rest, undo. After each step the
exported ``reviewed.jsonl`` is read back line by line. Set ``REVIEW_SCREENSHOT`` to a
path to keep a screenshot of the page (docs/how-to/review.md shows one made so).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from extract import Dataset, load_examples
from tests.integration.test_highlight_browser import ARGS, CHROMIUM
from tests.review_models import Order, predictions

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)",
    ),
]


class Server:
    """``extract review`` in a child process, on a free port of 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "predictions.jsonl"
        self.out = folder / "reviewed.jsonl"
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        command = [sys.executable, "-m", "extract", "review", "--schema",
                   "tests.review_models:Order", "--data", str(self.data), "--out",
                   str(self.out), "--port", "0"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # printed once the server listens
        assert " at http://127.0.0.1:" in line, line
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]
        return self.url

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.stop()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def lines(self) -> list[dict[str, Any]]:
        text = self.out.read_text(encoding="utf-8") if self.out.exists() else ""
        return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    server.data.write_text("".join(json.dumps(r) + "\n" for r in predictions()), encoding="utf-8")
    yield server
    server.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(viewport={"width": 1200, "height": 720})
        browser.close()


def press(page: Page, key: str) -> None:
    """A shortcut that submits or follows a link: wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def shown_id(page: Page) -> str:
    return page.locator("#doc-id").inner_text().split(" answered:")[0].strip()


def test_a_review_session_in_chromium(server: Server, page: Page, tmp_path: Path) -> None:
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.goto(server.start())
    assert shown_id(page) == "order-01"
    assert page.locator("#done").inner_text() == "0" and page.locator("#total").inner_text() == "20"
    # The low-confidence field is offered first: listed, marked, and focused.
    assert "/customer/city (50%)" in page.locator(".check").inner_text()
    focused = page.evaluate("document.activeElement.closest('.field').dataset.pointer")
    assert focused == "v/customer/city"
    # Correct a nested field (the city was none), then list items: fix, add, remove.
    page.locator("input[name='__null__'][value='v/customer/city']").uncheck()
    page.fill("input[name='v/customer/city']", "Paris")
    page.fill("input[name='v/lines/0/qty']", "3")
    page.click("[data-add='v/lines']")
    page.fill("input[name='v/lines/1/product']", "bulb")
    page.fill("input[name='v/lines/1/qty']", "4")
    page.click("[data-add='v/lines']")
    page.fill("input[name='v/lines/2/product']", "mistake")
    page.locator("li.item").nth(2).locator("[data-remove]").click()
    # Focus on a field lights its span in the text.
    page.focus("input[name='v/customer/name']")
    assert page.locator("mark.active").all_inner_texts() == ["Client 1"]
    if os.environ.get("REVIEW_SCREENSHOT"):
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=os.environ["REVIEW_SCREENSHOT"])
    page.keyboard.press("Escape")  # out of the field: letters are shortcuts again
    page.keyboard.press("e")
    assert page.locator("#example").is_checked()
    press(page, "a")
    first = {"customer": {"name": "Client 1", "city": "Paris"}, "date": "2026-03-01",
             "status": "paid", "lines": [{"product": "lamp", "qty": 3},
             {"product": "bulb", "qty": 4}], "note": None}  # fmt: skip
    assert server.lines() == [{"id": "order-01", "text": predictions()[0]["text"], "gold": first,
                               "answer": "correct", "example": True}]  # fmt: skip

    # A prediction that does not validate is shown with its error, then fixed.
    assert shown_id(page) == "order-02"
    assert '(got "two")' in page.locator(".field.invalid .errors").inner_text()
    press(page, "a")  # still invalid: not saved, the error stays inline
    assert len(server.lines()) == 1 and page.locator(".field.invalid").count() == 1
    page.fill("input[name='v/lines/0/qty']", "2")
    press(page, "Control+Enter")  # accepts from inside a field
    assert server.lines()[1]["answer"] == "correct"
    assert server.lines()[1]["gold"]["lines"] == [{"product": "chair", "qty": 2}]

    # The text of this document holds a script: shown as text, never run.
    assert shown_id(page) == "order-03"
    assert "<script>window.ran = true" in page.locator("div.text").inner_text()
    assert page.evaluate("window.ran === undefined") and page.title() != "ran"
    press(page, "r")
    assert shown_id(page) == "order-04"
    press(page, "a")  # unchanged: an accept
    assert [line["answer"] for line in server.lines()] == ["correct", "correct", "reject", "accept"]

    # Reload: the same document, the same progress; the answered one shows its answer.
    page.reload()
    assert shown_id(page) == "order-05" and page.locator("#done").inner_text() == "4"
    press(page, "k")
    assert page.locator("#doc-id").inner_text().endswith("answered: accept")

    # Kill the server mid-session (no clean shutdown) and start it again.
    server.kill()
    lines_before = server.lines()
    page.goto(server.start())
    assert shown_id(page) == "order-05" and page.locator("#done").inner_text() == "4"
    assert server.lines() == lines_before
    press(page, "k")
    press(page, "k")
    press(page, "k")
    press(page, "k")
    assert shown_id(page) == "order-01"
    assert page.input_value("input[name='v/customer/city']") == "Paris"
    assert page.input_value("input[name='v/lines/1/product']") == "bulb"

    # The rest by keyboard alone, timed (a browser's pace, not a person's).
    page.goto(server.url)
    started = time.monotonic()
    while shown_id(page) != "order-20" or page.locator("#done").inner_text() != "19":
        press(page, "a")
    press(page, "a")
    seconds = time.monotonic() - started
    assert page.locator("#summary").inner_text().startswith("17 accept, 2 correct, 1 reject")
    print(f"16 documents accepted by keyboard in {seconds:.1f} s")
    lines = server.lines()
    assert [line["id"] for line in lines] == [f"order-{i:02d}" for i in range(1, 21)]
    assert all(
        line["gold"] == p["value"] for line, p in zip(lines[3:], predictions()[3:], strict=True)
    )

    # Undo takes back the last answer, on the done page too.
    page.click("#undo")
    page.wait_for_url("**/doc/19**")
    assert len(server.lines()) == 19 and shown_id(page) == "order-20"
    assert failures == []

    # The answers feed the evaluation harness and the prompt.
    data = Dataset.from_jsonl(server.out, Order)
    assert len(data) == 18 and data.left_out == 1
    [(text, example)] = load_examples(server.out, Order)
    assert text.startswith("Client 1 from Paris") and example.customer.city == "Paris"
    shutil.copy(server.out, tmp_path / "kept.jsonl")
