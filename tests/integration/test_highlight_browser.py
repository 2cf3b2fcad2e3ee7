"""The highlight page in a real browser: Debian's Chromium, headless, driven by Playwright.

For every span, the text content of the ``mark[data-path="..."]`` elements in Chromium's
DOM is ``text[start:end]``: non-ASCII, CRLF (which an HTML parser would turn into LF if
written raw), markup characters, overlapping and nested spans. The page is served from a
throwaway HTTP server on 127.0.0.1 as ``text/html`` with no charset header, so the page's
own ``<meta charset>`` must do; it may fetch nothing else. No browser is downloaded
(``playwright install`` is never run): CI installs Debian's ``chromium`` (see .ci/run).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from playwright.sync_api import Page, Request, sync_playwright

import extract
from extract.apps.highlight import highlight, highlight_documents
from tests.unit.test_highlight import documents

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)",
    ),
]

CASES: list[tuple[str, str, dict[str, tuple[int, int]]]] = [
    (
        "accents and CJK",
        "Zoë Müller-Łukasiewicz, 東京都千代田区, 서울",
        {
            "/name": (0, 22),
            "/first": (0, 3),
            "/address/0/city": (24, 31),
            "/address/1/city": (33, 35),
        },
    ),
    (
        "emoji, ZWJ, flags, combining",
        "a👩\u200d💻b 🇫🇷 e\u0301!",
        {"/who": (1, 4), "/flag": (6, 8), "/tail": (9, 12), "/cut": (2, 7)},
    ),
    (
        "CRLF and markup",
        "line 1\r\nline <2> & \"3\"\r\n\\tab\t'q'\n",
        {"/lines/0": (0, 8), "/lines/1": (8, 24), "/crlf": (6, 8), "/markup": (13, 22)},
    ),
    (
        "crossing, nested, equal and empty",
        "abcdefghij",
        {"/a": (0, 6), "/b": (3, 9), "/c": (4, 5), "/d": (3, 9), "/e": (5, 5), "/f": (0, 10)},
    ),
    (
        "pointers with quotes and brackets",
        "x <y> z",
        {'/a"b': (0, 1), "/c'd]": (2, 5), "/<e>&f": (1, 7), "": (0, 7), "/~1/~0": (6, 7)},
    ),
    ("empty text", "", {"/nothing": (0, 0)}),
]

_READ = """
sections => sections.map(([selector, pointers]) => {
  const root = document.querySelector(selector);
  const byPath = {};
  for (const p of pointers) {
    const marks = root.querySelectorAll(`mark[data-path="${CSS.escape(p)}"]`);
    byPath[p] = Array.from(marks, m => m.textContent).join("");
  }
  const painted = Array.from(root.querySelectorAll("mark"))
    .filter(m => m.textContent && getComputedStyle(m).backgroundColor === "rgba(0, 0, 0, 0)");
  return {
    text: root.textContent,
    whiteSpace: getComputedStyle(root).whiteSpace,
    byPath,
    unpainted: painted.length,
  };
})
"""


class _Site:
    """One page at a time, served from memory on 127.0.0.1; every request is recorded."""

    def __init__(self) -> None:
        self.page = ""
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                body = site.page.encode("utf-8")
                self.send_response(200 if self.path == "/page.html" else 404)
                self.send_header("Content-Type", "text/html")  # no charset: <meta> decides
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/page.html"


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    site = _Site()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        yield page
        browser.close()


def _load(page: Page, site: _Site, html: str) -> list[str]:
    """Load ``html`` and return the URLs the browser asked for while doing so."""
    site.page = html
    asked: list[str] = []

    def record(request: Request) -> None:
        asked.append(request.url)

    page.on("request", record)
    page.goto(site.url, wait_until="load")
    page.remove_listener("request", record)
    return asked


def _read(page: Page, sections: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(_READ, [list(s) for s in sections])
    return found


def _check(found: dict[str, Any], text: str, spans: dict[str, tuple[int, int]]) -> None:
    assert found["text"] == text
    assert found["whiteSpace"] == "pre-wrap"
    assert found["unpainted"] == 0
    assert found["byPath"] == {p: text[s:e] for p, (s, e) in spans.items()}


@pytest.mark.parametrize("name, text, spans", CASES, ids=[c[0] for c in CASES])
def test_each_mark_holds_its_span_in_chromium(
    browser_page: Page, site: _Site, name: str, text: str, spans: dict[str, tuple[int, int]]
) -> None:
    asked = _load(browser_page, site, highlight(text, spans, title=name))
    assert browser_page.title() == name
    (found,) = _read(browser_page, [("div.text", list(spans))])
    _check(found, text, spans)
    # Nothing but the page itself is fetched (the browser may also ask for a favicon).
    assert [url for url in asked if not url.endswith("/favicon.ico")] == [site.url]
    if "/first" in spans:  # the same through a Playwright locator
        mark = browser_page.locator('mark[data-path="/first"]')
        assert mark.all_text_contents() == ["Zoë"]
        assert mark.get_attribute("title") == "/first"


def test_one_page_of_documents_in_chromium(browser_page: Page, site: _Site) -> None:
    _load(browser_page, site, highlight_documents(CASES, title="All cases"))
    sections = [
        (f"section:nth-of-type({i + 1}) div.text", list(s)) for i, (_, _, s) in enumerate(CASES)
    ]
    found = _read(browser_page, sections)
    for (_, text, spans), one in zip(CASES, found, strict=True):
        _check(one, text, spans)


@settings(max_examples=25)
@given(doc=documents())
def test_generated_spans_in_chromium(
    browser_page: Page, site: _Site, doc: tuple[str, dict[str, tuple[int, int]]]
) -> None:
    text, spans = doc
    _load(browser_page, site, highlight(text, spans))
    (found,) = _read(browser_page, [("div.text", list(spans))])
    _check(found, text, spans)


def test_a_pdfs_page_shows_each_values_box_over_its_words_in_chromium(
    browser_page: Page, site: _Site
) -> None:
    """The page image loads from its data URL, and each box covers the part of the
    image where PDFium placed the value, at whatever width the browser lays it out."""
    fpdf = pytest.importorskip("fpdf")
    pytest.importorskip("pypdfium2")
    pdf = fpdf.FPDF(unit="pt", format=(400, 300))
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.text(30, 50, "Invoice 2041")
    pdf.text(200, 240, "Total 12.50")
    document = extract.load(bytes(pdf.output()))
    total = document.text.index("12.50")
    spans = {"/number": (8, 12), "/total": (total, total + 5)}
    asked = _load(browser_page, site, highlight(document, spans, title="pdf"))
    assert [url for url in asked if not url.endswith("/favicon.ico")] == [site.url]
    drawn = browser_page.evaluate(
        """() => {
          const img = document.querySelector('.sheet img').getBoundingClientRect();
          const loaded = document.querySelector('.sheet img').naturalWidth;
          return {loaded, boxes: [...document.querySelectorAll('.box')].map(b => {
            const r = b.getBoundingClientRect();
            return [b.dataset.path, (r.left - img.left) / img.width, (r.top - img.top) / img.height,
                    (r.right - img.left) / img.width, (r.bottom - img.top) / img.height];
          })};
        }"""
    )
    assert drawn["loaded"] > 0
    for path, left, top, right, bottom in drawn["boxes"]:
        [box] = document.locate(spans[path]).boxes
        expected = (box.x0 / 400, box.y0 / 300, box.x1 / 400, box.y1 / 300)
        assert (left, top, right, bottom) == pytest.approx(expected, abs=0.01), path
