"""Scans and photos read with Tesseract: words with their boxes, in Tesseract's lines.

pytesseract runs the ``tesseract`` program that Debian, Homebrew and the Windows
installer provide, so nothing is compiled against it (tesserocr links libtesseract and
needs its headers at install time). Tesseract gives a box per word; each character's
box is its share of the word's width, enough to draw a value's lines on the page.
"""

from __future__ import annotations

import io
import shutil
from typing import Any

from ._document import Box, Document, DocumentError, Page, TextBuilder

INSTALL = (
    "reading images needs Tesseract: apt install tesseract-ocr (Debian, Ubuntu), "
    "brew install tesseract (macOS), then pip install 'structured-extract[documents]'"
)


def tesseract_ready() -> None:
    """Raise ``DocumentError`` saying how to install Tesseract when it is missing."""
    if shutil.which("tesseract") is None:
        raise DocumentError(INSTALL)
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        raise DocumentError(INSTALL) from None


def read_image(data: bytes, name: str | None = None, lang: str = "eng") -> Document:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    tesseract_ready()
    try:
        image = Image.open(io.BytesIO(data))
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DocumentError(f"{name or 'the image'}: damaged or not an image ({exc})") from None
    builder = TextBuilder()
    pages = []
    for index, frame in enumerate(frames):  # a multi-page TIFF: one page per frame
        pages.append(Page(float(frame.width), float(frame.height), "px"))
        builder.break_line(blank=True)
        ocr_page(frame, index, builder, lang=lang)
    if not builder.length:
        raise DocumentError(f"{name or 'the image'}: no text found in it")
    return builder.build("image", name, pages, data)


def ocr_page(image: Any, index: int, builder: TextBuilder, scale: float = 1.0,
             lang: str = "eng") -> None:  # fmt: skip
    """Tesseract's words of one page image into ``builder``: a line per line, a blank
    line between paragraphs; boxes divided by ``scale`` (pixels per page unit)."""
    import pytesseract

    try:
        found = pytesseract.image_to_data(
            image.convert("RGB"), lang=lang, output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractError as exc:
        raise DocumentError(f"Tesseract failed on page {index + 1}: {exc}") from None
    last_line: tuple[int, int, int] | None = None
    last_paragraph: tuple[int, int] | None = None
    for i, word in enumerate(found["text"]):
        word = " ".join(str(word).split())
        if not word or float(found["conf"][i]) < 0:
            continue
        paragraph = (found["block_num"][i], found["par_num"][i])
        line = (*paragraph, found["line_num"][i])
        if last_line is not None and line != last_line:
            builder.break_line(blank=paragraph != last_paragraph)
        elif last_line is not None:
            builder.add(" ")
        left, top = found["left"][i] / scale, found["top"][i] / scale
        width, height = found["width"][i] / scale, found["height"][i] / scale
        step = width / len(word)
        boxes: list[Box | None] = [
            Box(index, left + k * step, top, left + (k + 1) * step, top + height)
            for k in range(len(word))
        ]
        builder.add(word, boxes)
        last_line, last_paragraph = line, paragraph
