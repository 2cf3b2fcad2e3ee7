"""Word documents (``.docx``): paragraphs and tables in the order they stand.

python-docx reads the Office Open XML package (with lxml) and gives the body's
paragraphs and tables in document order; a table's rows become lines, its cells apart
by tabs, as in a PDF's tables. Each character maps to its paragraph or cell.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from ._document import Document, DocumentError, TextBuilder


def read_docx(data: bytes, name: str | None = None) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        word = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{name or 'the Word file'}: damaged ({exc})") from None
    builder = TextBuilder()
    tables = paragraphs = 0
    for block in word.iter_inner_content():
        if isinstance(block, docx.table.Table):
            tables += 1
            _table(builder, block, f"table:nth-of-type({tables})")
        else:
            paragraphs += 1
            _paragraph(builder, block.text, f"p:nth-of-type({paragraphs})")
    if not builder.length:
        raise DocumentError(f"{name or 'the Word file'}: no text")
    return builder.build("docx", name, (), data)


def _paragraph(builder: TextBuilder, text: str, element: str) -> None:
    text = text.replace("\r", "").strip()
    if text:
        builder.break_line()
        builder.add(text, element=element)


def _table(builder: TextBuilder, table: Any, element: str) -> None:
    builder.break_line(blank=True)
    for r, row in enumerate(table.rows, 1):
        builder.break_line()
        seen: set[int] = set()
        first = True
        for c, cell in enumerate(row.cells, 1):
            if id(cell._tc) in seen:  # a merged cell repeats in every column it spans
                continue
            seen.add(id(cell._tc))
            if not first:
                builder.add("\t")
            first = False
            text = " ".join(cell.text.split())
            if text:
                builder.add(text, element=f"{element} > tr:nth-of-type({r}) > td:nth-of-type({c})")
    builder.break_line(blank=True)
