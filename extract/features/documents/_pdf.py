"""PDF text with a box per character, read with pypdfium2.

pypdfium2 (PDFium, the engine of Chromium's PDF viewer, as a self-contained wheel)
gives each character of the text layer with its box, orders a page's text by lines the
way a reader does, and renders pages for the review page, with no system library to
install. pdfplumber (pdfminer) gives the same boxes, pure Python and several times
slower.
"""

from __future__ import annotations

from typing import Any

from ._document import Box, Document, DocumentError, Page, TextBuilder
from ._image import INSTALL, tesseract_ready
from ._layout import SPACE, WIDE, lines_of, reading_order

OCR_DPI = 300  # pages without a text layer are rendered at this resolution for Tesseract


def read_pdf(data: bytes, name: str | None = None, password: str | None = None,
             ocr: bool = True) -> Document:  # fmt: skip
    """The PDF's text layer; a page without one (a scan) is read with Tesseract when
    ``ocr`` and Tesseract is installed, else left empty (an error if all are)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"{name or 'the PDF'}: {_why(exc)}") from None
    try:
        builder = TextBuilder()
        pages: list[Page] = []
        scans = 0
        for index in range(len(pdf)):
            page = pdf[index]
            width, height = page.get_size()
            pages.append(Page(width, height, "pt"))
            builder.break_line(blank=True)
            before = builder.length
            _read_page(page, index, height, builder)
            if builder.length == before and ocr and _can_ocr():
                from ._image import ocr_page

                scans += 1
                image = page.render(scale=OCR_DPI / 72).to_pil()
                ocr_page(image, index, builder, scale=OCR_DPI / 72)
        if not pages:
            raise DocumentError(f"{name or 'the PDF'}: it has no pages")
        if not builder.length:
            hint = "no text found on them by OCR" if scans else f"a scan needs OCR; {INSTALL}"
            raise DocumentError(
                f"{name or 'the PDF'}: no page has a text layer ({len(pages)} page(s)); {hint}"
            )
        return builder.build("pdf", name, pages, data)
    finally:
        pdf.close()


def _can_ocr() -> bool:
    try:
        tesseract_ready()
    except DocumentError:
        return False
    return True


def _read_page(page: Any, index: int, height: float, builder: TextBuilder) -> None:
    """The page's characters as lines in reading order (``_layout``: top to bottom, each
    left to right, columns of prose one after another), spaces where the gaps are, a tab
    where a gap is wide (table cells), and a blank line where the gap between lines is,
    or a column starts. PDFium's own order is the order the content stream drew in,
    which need not be the order a reader reads."""
    glyphs = _glyphs(page, index, height)
    lines = reading_order(lines_of(glyphs))
    previous: Box | None = None
    for line in lines:
        top = min(box.y0 for _, box in line)
        bottom = max(box.y1 for _, box in line)
        if previous is not None:
            gap = top - previous.y1  # negative: the next column starts higher up
            builder.break_line(blank=gap > 0.8 * (previous.y1 - previous.y0) or gap < 0)
        text: list[str] = []
        boxes: list[Box | None] = []
        size = bottom - top
        last: Box | None = None
        for char, box in line:
            if last is not None:
                gap = box.x0 - last.x1
                if gap > WIDE * size:
                    text.append("\t")
                    boxes.append(None)
                elif gap > SPACE * size:
                    text.append(" ")
                    boxes.append(None)
            text.append(char)
            boxes.append(box)
            last = box
        builder.add("".join(text), boxes)
        previous = Box(index, 0, top, 0, bottom)


def _glyphs(page: Any, index: int, height: float) -> list[tuple[str, Box]]:
    """Every character with ink, with its box (top-left origin)."""
    import pypdfium2.raw as raw

    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        out: list[tuple[str, Box]] = []
        i = 0
        while i < count:
            code = raw.FPDFText_GetUnicode(textpage.raw, i)
            at = i
            i += 1
            if 0xD800 <= code < 0xDC00 and i < count:  # a UTF-16 pair: one character
                low = raw.FPDFText_GetUnicode(textpage.raw, i)
                if 0xDC00 <= low < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 1
            if code == 0x02:  # PDFium's mark for a hyphen that ends a line
                code = ord("-")
            if code < 0x20 or code in (0x7F, 0xFFFE, 0xFFFF) or 0xD800 <= code < 0xE000:
                continue
            char = chr(code)
            if char.isspace() or raw.FPDFText_IsGenerated(textpage.raw, at) == 1:
                continue  # spaces and breaks are inferred again from the boxes
            left, bottom, right, top = textpage.get_charbox(at, loose=True)
            out.append((char, Box(index, left, height - top, right, height - bottom)))
        return out
    finally:
        textpage.close()


def _why(exc: Exception) -> str:
    message = str(exc)
    if "password" in message.lower():
        return "it is encrypted (a password is needed)"
    if "format" in message.lower() or "file" in message.lower():
        return f"it is damaged or not a PDF ({message})"
    return message
