"""Documents, not only strings: PDF, HTML, e-mail, Word, images and plain text in,
offsets back out.

``extract.load(path_or_bytes)`` reads a file into a ``Document``: its text, as a model
reads it, and a map from each character back to where it came from (a box on a PDF
page, an HTML element, an e-mail header or body). The kind is found from the content
(``sniff``), not the file name. Every entry point that takes text takes a ``Document``;
``result.spans`` are offsets into ``document.text`` and ``document.locate(span)`` gives
the place in the source.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._document import Box, Document, DocumentError, Location, Page, TextBuilder
from ._sniff import KINDS, sniff

__all__ = ["KINDS", "Box", "Document", "DocumentError", "Location", "Page", "Text", "load", "sniff"]

Text = str | Document  # what every entry point takes as a document's text


def load(
    source: str | os.PathLike[str] | bytes,
    *,
    kind: str | None = None,
    name: str | None = None,
    password: str | None = None,
) -> Document:
    """A file (a path) or its bytes as a ``Document``. ``kind``: one of ``KINDS`` to
    skip finding it from the content. Raises ``DocumentError`` for a document that
    cannot be read, saying why (damaged, encrypted, empty, unknown kind)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        name = name or str(path)
        try:
            data = path.read_bytes()
        except IsADirectoryError:
            raise DocumentError(f"{path}: a folder, not a file") from None
        except OSError as exc:
            raise DocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    else:
        raise DocumentError(f"load takes a path or bytes, not {type(source).__name__}")
    if kind is not None and kind not in KINDS:
        raise DocumentError(f"kind is one of {', '.join(KINDS)}, not {kind!r}")
    label = name or "the document"
    if not data:
        raise DocumentError(f"{label}: empty (0 bytes)")
    found = kind or sniff(data)
    if found is None:
        raise DocumentError(
            f"{label}: an unknown kind of file (not PDF, an image, HTML, e-mail, Word or "
            "UTF-8 text)"
        )
    if found == "pdf":
        _needs("pypdfium2", "PDF files")
        from ._pdf import read_pdf

        return read_pdf(data, name, password)
    if found == "html":
        _needs("selectolax", "HTML pages")
        from ._html import read_html

        return read_html(data, name)
    if found == "email":
        from ._email import read_email

        return read_email(data, name)
    if found == "text":
        return _read_text(data, name)
    if found == "docx":
        _needs("docx", "Word files")
        from ._docx import read_docx

        return read_docx(data, name)
    _needs("PIL", "images")  # the last of KINDS: an image
    from ._image import read_image

    return read_image(data, name)


def _needs(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise DocumentError(
            f"reading {what} needs {module}: pip install 'structured-extract[documents]'"
        )


def _read_text(data: bytes, name: str | None) -> Document:
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{name or 'the text'}: not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(f"{name or 'the text'}: no text, only white space")
    builder = TextBuilder()
    builder.add(text)
    return builder.build("text", name, (), data)
