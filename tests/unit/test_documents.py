"""extract.load: documents the tests write themselves (PDFs with fpdf2, HTML, e-mail),
read back; the text and the map to the source agree with what was placed."""

from __future__ import annotations

import io
import json
import os
import shutil
from email.message import EmailMessage
from typing import Any

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import extract
from extract.features.documents import sniff
from extract.testing import ScriptedBackend
from tests.fault_counts import record

WORD = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,€-", min_size=1,
               max_size=10)  # fmt: skip
PAGE = (640.0, 300.0)  # points
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian's fonts-dejavu-core
if not os.path.exists(FONT):  # .ci/run installs it
    pytest.skip(f"the document tests draw with {FONT}: apt install fonts-dejavu-core",
                allow_module_level=True)  # fmt: skip
SIZE = 11.0  # font size, points


@st.composite
def placed_pages(draw: Any) -> list[list[tuple[float, float, str]]]:
    """Pages of words at known places: rows (baselines 24 pt apart), each with up to
    three cells starting at 20, 220 and 420 pt (a table's columns; a cell's at most 16
    characters never reach the next), drawn in any order."""
    pages = []
    for _ in range(draw(st.integers(1, 3))):
        rows = draw(st.integers(1, 9))
        cells = []
        for row in range(rows):
            for column in sorted(draw(st.sets(st.integers(0, 2), min_size=1))):
                words = draw(st.lists(WORD, min_size=1, max_size=3))
                text = " ".join(words)[:16].strip()
                cells.append((20.0 + 200 * column, 40.0 + 24 * row, text))
        pages.append(draw(st.permutations(cells)))  # the content stream's order is any
    return pages


def write_pdf(pages: list[list[tuple[float, float, str]]]) -> bytes:
    pdf = FPDF(unit="pt", format=PAGE)
    pdf.add_font("DejaVu", fname=FONT)
    pdf.set_font("DejaVu", size=SIZE)
    for cells in pages:
        pdf.add_page()
        for x, y, text in cells:
            pdf.text(x, y, text)
    return bytes(pdf.output())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=placed_pages())
def test_pdf_text_reads_rows_in_order_and_each_cell_maps_to_where_it_was_drawn(
    pages: list[list[tuple[float, float, str]]],
) -> None:
    document = extract.load(write_pdf(pages), name="placed.pdf")
    assert document.kind == "pdf" and len(document.pages) == len(pages)
    assert document.pages[0].width == pytest.approx(PAGE[0])
    at = 0
    for number, cells in enumerate(pages):
        for x, y, text in sorted(cells, key=lambda c: (c[1], c[0])):  # reading order
            start = document.text.index(text, at)
            end = at = start + len(text)
            assert document.text[start:end] == text
            location = document.locate((start, end))
            [box] = location.boxes  # one line
            assert box.page == number
            assert box.x0 == pytest.approx(x, abs=1.0)
            assert box.y0 < y < box.y1  # the baseline is inside the line's box
            assert box.y1 - box.y0 < 2 * SIZE
            assert box.x1 - box.x0 < len(text) * SIZE  # no wider than its characters
    # Cells of one row share a line, apart by a tab; rows are lines of their own.
    for line in document.text.split("\n"):
        assert line == line.strip(" ")


def test_a_span_over_two_lines_gives_a_box_per_line() -> None:
    document = extract.load(write_pdf([[(20, 40, "Total due"), (20, 54, "12.50 EUR")]]))
    assert document.text == "Total due\n12.50 EUR"
    boxes = document.locate((6, 14)).boxes
    assert len(boxes) == 2 and boxes[0].y1 < boxes[1].y1
    assert document.locate((9, 10)).boxes == ()  # the line break has no ink
    with pytest.raises(extract.UsageError, match="not within"):
        document.locate((5, 99))


def test_unreadable_documents_are_clear_errors(tmp_path: Any) -> None:
    cases = {
        b"": "empty",
        b"%PDF-1.7\n%garbage": "damaged or not a PDF",
        write_pdf([[]]): "no page has a text layer",
        b"\x00\x01\x02\xff": "unknown kind",
        b"PK\x03\x04zip": "unknown kind",
        "caf\u00e9".encode("latin-1"): "unknown kind",
        b"<html><body><script>x()</script></body></html>": "no text",
        b"   \n\t\n": "no text",
    }
    for data, reason in cases.items():
        with pytest.raises(extract.DocumentError, match=reason):
            extract.load(data, name="bad")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(20, 20, "secret")
    pdf.set_encryption(owner_password="o", user_password="u")
    locked = bytes(pdf.output())
    with pytest.raises(extract.DocumentError, match="encrypted"):
        extract.load(locked)
    assert "secret" in extract.load(locked, password="u").text
    with pytest.raises(extract.DocumentError, match="cannot be read"):
        extract.load(tmp_path / "missing.pdf")
    with pytest.raises(extract.DocumentError, match="a folder"):
        extract.load(tmp_path)
    assert issubclass(extract.DocumentError, extract.InputError)
    deep = extract.load(b"<div>" * 5000 + b"deep text" + b"</div>" * 5000)  # past recursion
    assert deep.text == "deep text" and deep.locate((0, 4)).elements[0].count("div") == 5000


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300) | st.sampled_from([b"%PDF-", b"PK\x03\x04", b"\x89PNG"]))
def test_any_bytes_are_a_document_or_a_document_error(data: bytes) -> None:
    try:
        document = extract.load(data)
    except extract.DocumentError as exc:
        assert str(exc)
        record("load-fuzz", inputs=1, faults=1, accounted=1)
        return
    assert document.text and document.kind in ("text", "html", "email", "pdf")
    document.text.encode("utf-8")
    record("load-fuzz", inputs=1, faults=0, accounted=1)


@st.composite
def pages_of_html(draw: Any) -> tuple[str, list[tuple[str, str]]]:
    """A page of paragraphs, list items and table cells, each holding words (some in
    <b>): the HTML and each text's expected element."""
    body, expected = [], []
    for _ in range(draw(st.integers(1, 6))):
        words = " ".join(draw(st.lists(WORD, min_size=1, max_size=4)))
        kind = draw(st.sampled_from(["p", "li", "td", "b"]))
        if kind == "li":
            body.append(f"<ul><li>{words}</li></ul>")
        elif kind == "td":
            body.append(f"<table><tr><td>x</td><td>\n  {words}  </td></tr></table>")
        elif kind == "b":
            body.append(f"<p>see <b>{words}</b> here</p>")
        else:
            body.append(f"<p>  {words}\n</p>")
        expected.append((words, kind))
    return "<html><body>" + "".join(body) + "</body></html>", expected


@settings(max_examples=60, deadline=None)
@given(page=pages_of_html())
def test_html_text_keeps_each_text_in_order_with_its_element(
    page: tuple[str, list[tuple[str, str]]],
) -> None:
    html, expected = page
    document = extract.load(html.encode())
    assert document.kind == "html"
    for (_, kind), elements in zip(expected, elements_in_order(document, expected), strict=True):
        [element] = elements
        assert element.split(" > ")[-1].startswith(f"{kind}:nth-of-type(")
    assert "  " not in document.text and "\n\n\n" not in document.text


def elements_in_order(document: Any, expected: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    """The elements holding each expected text, found in the document's text in order."""
    at, out = 0, []
    for text, _ in expected:
        start = document.text.index(text, at)
        at = start + len(text)
        out.append(document.locate((start, at)).elements)
    return out


def test_an_email_reads_as_its_headers_and_body() -> None:
    message = EmailMessage()
    message["From"] = "Ann Lee <ann@example.com>"
    message["To"] = "bob@example.com"
    message["Subject"] = "Invoice n\u00b042 due"
    message["Date"] = "Mon, 07 Dec 2026 10:00:00 +0000"
    message.set_content("Total: 12.50 EUR\r\nThanks")
    message.add_alternative("<p>Total: <b>12.50</b> EUR</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                           filename="invoice.pdf")  # fmt: skip
    data = message.as_bytes()
    assert sniff(data) == "email"
    document = extract.load(data, name="mail.eml")
    assert document.text.startswith("From: Ann Lee <ann@example.com>\nTo: bob@example.com\n")
    assert "Subject: Invoice n\u00b042 due" in document.text
    assert document.text.endswith("Total: 12.50 EUR\nThanks\n\nAttachments: invoice.pdf")
    start = document.text.index("Invoice")
    assert document.locate((start, start + 7)).elements == ("header:Subject",)
    start = document.text.index("12.50")
    assert document.locate((start, start + 5)).elements == ("body",)


def test_every_entry_point_takes_a_document(tmp_path: Any) -> None:
    document = extract.load(write_pdf([[(20, 40, "Ann Lee"), (20, 54, "Oslo")]]), name="a.pdf")
    answer = json.dumps({"name": "Ann Lee"})
    ex = extract.Extractor(ScriptedBackend([answer] * 4))
    result = ex.run(dict[str, str], document)
    assert result.value == {"name": "Ann Lee"}
    outcomes = list(ex.run_many(dict[str, str], [document, ("b", document)], cache=False))
    assert [o.id for o in outcomes] == ["a.pdf", "b"] and all(o.ok for o in outcomes)
    assert str(document) == document.text == "Ann Lee\nOslo"
    *_, streamed = extract.Extractor(ScriptedBackend([answer])).stream(dict[str, str], document)
    assert isinstance(streamed, extract.Result) and streamed.value == {"name": "Ann Lee"}
    members = [extract.Extractor(ScriptedBackend([answer])) for _ in range(2)]
    assert extract.Ensemble(members).run(dict[str, str], document).value == {"name": "Ann Lee"}
    report = extract.evaluate(dict[str, str], [("a", document, {"name": "Ann Lee"})],
                              {"s": extract.Extractor(ScriptedBackend([answer]))})  # fmt: skip
    assert report.summary("s").micro.f1 == 1.0
    loop = extract.Loop(dict[str, str], extract.Extractor(ScriptedBackend([answer] * 2)),
                        tmp_path / "loop", retrain_every=0)  # fmt: skip
    assert loop.suggest(document, "a").value == {"name": "Ann Lee"}
    loop.answer("a", document, {"name": "Ann Lee"})
    assert [a.text for a in loop.store.answers()] == [document.text]


def test_a_folder_of_mixed_files_is_read_by_content_and_each_bad_one_says_why(
    tmp_path: Any,
) -> None:
    from extract.apps.cli import main
    from extract.features.batch import Document, read_inputs

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(write_pdf([[(20, 40, "doc 1 ok")]]))
    (folder / "b.html").write_bytes(b"<!doctype html><p>doc <b>2</b> ok</p>")
    (folder / "c.txt").write_text("doc 3 ok")
    (folder / "d.dat").write_bytes(write_pdf([[(20, 40, "doc 4 ok")]]))  # a PDF all the same
    (folder / "e.pdf").write_bytes(b"%PDF-1.7 cut off")
    (folder / "f.bin").write_bytes(b"\x00\x01\x02")
    (folder / "g.pdf").write_bytes(write_pdf([[]]))
    read = {i.id: i for i in read_inputs([str(folder)]) if isinstance(i, Document)}
    assert [read[str(folder / n)].text for n in ("a.pdf", "b.html", "c.txt", "d.dat")] == [
        "doc 1 ok", "doc 2 ok", "doc 3 ok", "doc 4 ok"]  # fmt: skip
    out = tmp_path / "out.jsonl"
    args = ["run", "--schema", "tests.batch_fakes:Item", "--backend",
            "tests.batch_fakes:FaultyBackend", "--input", str(folder), "--output", str(out),
            "--no-cache", "--quiet"]  # fmt: skip
    assert main(args) == 1
    lines = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    assert len(lines) == 7
    assert [lines[str(folder / n)]["value"] for n in ("a.pdf", "b.html", "c.txt", "d.dat")] == [
        {"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]  # fmt: skip
    assert "damaged or not a PDF" in lines[str(folder / "e.pdf")]["error"]
    assert "unknown kind" in lines[str(folder / "f.bin")]["error"]
    assert "no page has a text layer" in lines[str(folder / "g.pdf")]["error"]
    assert all(lines[str(folder / n)]["error"].startswith("InputError: cannot read")
               for n in ("e.pdf", "f.bin", "g.pdf"))  # fmt: skip
    record("run-documents", inputs=7, faults=3, accounted=len(lines))


COMMON = ["invoice", "total", "paid", "order", "number", "date", "amount", "due", "name",
          "street", "city", "account", "balance", "payment", "service", "price", "2041",
          "1250", "Oslo", "Berlin", "ACME", "Lee"]  # fmt: skip


@st.composite
def scans(draw: Any) -> tuple[bytes, list[tuple[str, tuple[float, float, float, float]]]]:
    """A white page image with lines of common words drawn at known places (PNG), and
    each line's text and drawn box."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, draw(st.sampled_from([28, 36])))
    image = Image.new("L", (1000, 60 + 70 * 5), 255)
    pen = ImageDraw.Draw(image)
    lines = []
    for row in range(draw(st.integers(1, 5))):
        text = " ".join(draw(st.lists(st.sampled_from(COMMON), min_size=1, max_size=4)))
        x = draw(st.integers(20, 200))
        y = 30 + 70 * row
        pen.text((x, y), text, font=font, fill=0)
        left, top, right, bottom = pen.textbbox((x, y), text, font=font)
        lines.append((text, (left, top, right, bottom)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), lines


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="apt install tesseract-ocr")
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scan=scans())
def test_a_scan_reads_back_its_lines_with_boxes_where_they_were_drawn(
    scan: tuple[bytes, list[tuple[str, tuple[float, float, float, float]]]],
) -> None:
    data, lines = scan
    document = extract.load(data, name="scan.png")
    assert document.kind == "image" and document.pages[0].unit == "px"
    read = document.text.split("\n")
    read = [line for line in read if line]
    assert len(read) == len(lines), (read, lines)
    at = 0
    for (text, (left, top, right, bottom)), got in zip(lines, read, strict=True):
        assert got == text  # common words in a clean font: read exactly
        start = document.text.index(got, at)
        at = start + len(got)
        [box] = document.locate((start, at)).boxes
        assert abs(box.x0 - left) <= 6 and abs(box.x1 - right) <= 6
        # Tesseract pads a word's box by a varying few pixels up or down (seen: 10):
        # the box must cover the drawn line and be less than twice as tall.
        overlap = min(box.y1, bottom) - max(box.y0, top)
        assert overlap >= 0.8 * (bottom - top) and box.y1 - box.y0 <= 1.8 * (bottom - top)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="apt install tesseract-ocr")
def test_a_pdf_page_without_a_text_layer_is_read_by_ocr_in_page_units() -> None:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    pen = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 40)
    pen.text((100, 100), "Scanned invoice 2041", font=font, fill="black")
    left, _, right, _ = pen.textbbox((100, 100), "Scanned invoice 2041", font=font)
    out = io.BytesIO()
    image.save(out, "PDF", resolution=150)
    document = extract.load(out.getvalue())
    assert document.kind == "pdf" and document.text == "Scanned invoice 2041"
    [box] = document.locate((0, len(document.text))).boxes
    points = 72 / 150
    assert abs(box.x0 - left * points) < 3 and abs(box.x1 - right * points) < 3
    with pytest.raises(extract.DocumentError, match="damaged or not an image"):
        extract.load(b"\x89PNG\r\n\x1a\nbroken")
    blank = io.BytesIO()
    Image.new("L", (200, 100), 255).save(blank, "PNG")
    with pytest.raises(extract.DocumentError, match="no text found"):
        extract.load(blank.getvalue())


@settings(max_examples=25, deadline=None)
@given(
    blocks=st.lists(
        st.one_of(
            st.tuples(st.just("p"), st.lists(WORD, min_size=1, max_size=4).map(" ".join)),
            st.tuples(
                st.just("table"),
                st.lists(st.lists(WORD, min_size=2, max_size=2), min_size=1, max_size=3),
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_a_word_file_reads_paragraphs_and_table_rows_in_order(blocks: list[Any]) -> None:
    import docx

    word = docx.Document()
    expected = []
    for kind, content in blocks:
        if kind == "p":
            word.add_paragraph(content)
            expected.append((content, "p:nth-of-type("))
        else:
            table = word.add_table(rows=len(content), cols=2)
            for r, row in enumerate(content):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
                expected.append(("\t".join(row), "td:nth-of-type("))
    out = io.BytesIO()
    word.save(out)
    document = extract.load(out.getvalue())
    assert document.kind == "docx"
    for (_, element), found in zip(expected, elements_in_order(document, expected), strict=True):
        assert found and all(element in e for e in found)


def test_highlight_draws_each_values_boxes_on_its_page() -> None:
    import base64
    import re

    from PIL import Image

    pdf = write_pdf([[(20, 40, "Invoice 2041")], [(320, 100, "Total 12.50")]])
    document = extract.load(pdf)
    start = document.text.index("2041")
    total = document.text.index("12.50")
    spans = {"/number": (start, start + 4), "/total": (total, total + 5)}
    page = extract.highlight(document, spans, title="scan")
    sections = re.findall(r"<section class='page' data-page='(\d+)'>(.*?)</section>", page)
    assert [number for number, _ in sections] == ["1", "2"]
    for (number, section), pointer in zip(sections, ("/number", "/total"), strict=True):
        source = re.search(r"src='data:image/png;base64,([^']+)'", section)
        assert source is not None
        image = Image.open(io.BytesIO(base64.b64decode(source.group(1))))
        assert image.width / image.height == pytest.approx(PAGE[0] / PAGE[1], rel=0.01)
        [drawn] = re.findall(
            r"data-path='([^']+)' title='[^']+' style='left:([\d.]+)%;top:([\d.]+)%;"
            r"width:([\d.]+)%;height:([\d.]+)%'", section)  # fmt: skip
        [box] = document.locate(spans[pointer]).boxes
        assert box.page == int(number) - 1 and drawn[0] == pointer
        left, top, width, height = map(float, drawn[1:])
        assert left == pytest.approx(100 * box.x0 / PAGE[0], abs=0.01)
        assert top == pytest.approx(100 * box.y0 / PAGE[1], abs=0.01)
        assert width == pytest.approx(100 * (box.x1 - box.x0) / PAGE[0], abs=0.01)
        assert height == pytest.approx(100 * (box.y1 - box.y0) / PAGE[1], abs=0.01)
    text_only = extract.highlight(document.text, spans)
    assert "<img" not in text_only and "2041</mark>" in text_only


SHORT = ["the", "fund", "bank", "said", "rates", "rose", "in", "March", "after", "Oslo",
         "data", "new", "plan", "for", "city", "board", "met", "on"]  # fmt: skip


@st.composite
def two_column_pages(draw: Any) -> tuple[list[tuple[float, float, str]], list[str]]:
    """An article page: maybe a title across the page, two columns of prose lines
    (five or six short words each; the right column may start lower or be shorter),
    maybe a footer across the page; the cells drawn, and the lines in reading order."""
    prose = st.lists(st.sampled_from(SHORT), min_size=5, max_size=6).map(" ".join)
    shift = draw(st.integers(0, 2))  # right column's first line, in lines below the left's
    # At least three lines with text in both columns: fewer is not told from a table.
    left = draw(st.lists(prose, min_size=3 + shift, max_size=8))
    right = draw(st.lists(prose, min_size=3, max_size=8))
    cells, order = [], []
    if draw(st.booleans()):
        title = "Rates rose in March across the city after the board met on the plan today"
        cells.append((40.0, 30.0, title))
        order.append(title)
    cells += [(40.0, 60.0 + 14 * n, text) for n, text in enumerate(left)]
    cells += [(330.0, 60.0 + 14 * (n + shift), text) for n, text in enumerate(right)]
    order += left + right
    if draw(st.booleans()):
        footer = "Printed by the city board for the fund and the bank in Oslo on new data"
        bottom = 60.0 + 14 * max(len(left), len(right) + shift) + 20
        cells.append((40.0, bottom, footer))
        order.append(footer)
    return draw(st.permutations(cells)), order


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=two_column_pages())
def test_columns_of_prose_are_read_one_after_the_other(
    page: tuple[list[tuple[float, float, str]], list[str]],
) -> None:
    cells, order = page
    document = extract.load(write_pdf([cells]))
    read = [line for line in document.text.split("\n") if line]
    assert read == order, document.text


def test_run_many_places_each_grounded_value_in_the_file() -> None:
    from pydantic import BaseModel

    from extract.features.batch import outcome_line

    class Named(BaseModel):
        name: extract.Quote
        city: str

    document = extract.load(write_pdf([[(20, 40, "Ann Lee"), (20, 54, "Oslo")]]), name="a.pdf")
    answer = json.dumps({"name": "Ann Lee", "city": "Oslo"})
    ex = extract.Extractor(ScriptedBackend([answer]))
    [outcome] = list(ex.run_many(Named, [document], cache=False))
    assert outcome.result is not None and outcome.result.spans["/name"] == (0, 7)
    [box] = document.locate((0, 7)).boxes
    expected = [box.page, *(round(v, 2) for v in (box.x0, box.y0, box.x1, box.y1))]
    assert outcome.locations == {"/name": {"boxes": [expected], "elements": []}}
    assert outcome_line(outcome, Named)["locations"] == outcome.locations
    [plain] = list(ex.run_many(Named, [("b", "Ann Lee\nOslo")], cache=False))
    assert plain.locations is None  # a plain text has no file to place it in


def test_without_tesseract_a_scan_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setattr(shutil, "which", lambda name: None)
    page = io.BytesIO()
    Image.new("L", (200, 100), 255).save(page, "PNG")
    with pytest.raises(extract.DocumentError, match="apt install tesseract-ocr"):
        extract.load(page.getvalue())
    scan = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(scan, "PDF")
    with pytest.raises(extract.DocumentError, match=r"a scan needs OCR.*apt install tesseract-ocr"):
        extract.load(scan.getvalue())
