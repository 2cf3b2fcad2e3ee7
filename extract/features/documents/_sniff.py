"""What kind of document some bytes are, from their content (a suffix can lie).

Magic numbers for PDF, images and Word files; for text, whether it reads as an HTML
page or an e-mail's headers; else plain text if it is UTF-8, else unknown. Written by
hand: python-magic needs libmagic installed and names MIME types, not these kinds, and
``filetype`` does not tell text kinds apart.
"""

from __future__ import annotations

import io
import re
import zipfile

KINDS = ("text", "pdf", "html", "email", "image", "docx")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*",
                b"GIF87a", b"GIF89a")  # fmt: skip
_HTML = re.compile(rb"<(!doctype\s+html|html|head|body|div|p|table|title|meta)[\s>/]", re.I)
_HEADER = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
_MAIL_HEADERS = {b"from", b"to", b"cc", b"subject", b"date", b"received", b"message-id",
                 b"mime-version", b"return-path", b"delivered-to", b"reply-to"}  # fmt: skip


def sniff(data: bytes) -> str | None:
    """One of ``KINDS``, or None when it is none of them (binary, not UTF-8)."""
    head = data[:8192]
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[:2] == b"BM" and len(head) >= 18 and head[14:18] in _BMP_HEADERS:
        return "image"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if _is_docx(data) else None
    text = head.removeprefix(b"\xef\xbb\xbf")
    if _looks_like_email(text):
        return "email"
    markup = text.lstrip()
    if markup.startswith(b"<") and _HTML.search(markup[:1024]):
        return "html"
    if b"\x00" in head:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text"


_BMP_HEADERS = {n.to_bytes(4, "little") for n in (12, 40, 52, 56, 64, 108, 124)}


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _looks_like_email(head: bytes) -> bool:
    """Header lines from the first line to a blank line, two of them a mail's."""
    seen = 0
    lines = head.splitlines()
    if lines and lines[0].startswith(b"From "):  # an mbox separator line
        lines = lines[1:]
    for number, line in enumerate(lines):
        if not line.strip():
            return number > 0 and seen >= 2
        if line[:1] in (b" ", b"\t") and number > 0:
            continue  # a folded header's next line
        if not _HEADER.match(line):
            return False
        seen += line.split(b":", 1)[0].lower() in _MAIL_HEADERS
    return False
