"""E-mail (``.eml``, RFC 5322) as its headers and body, read with the standard library.

The ``email`` package with the modern policy decodes headers (RFC 2047), transfer
encodings and charsets; nothing else does it better. The body is the plain-text part,
else the HTML part read like any page; attachments are named, not read.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from email.message import EmailMessage, MIMEPart

from ._document import Document, DocumentError, TextBuilder
from ._html import read_html

HEADERS = ("From", "To", "Cc", "Date", "Subject")


def read_email(data: bytes, name: str | None = None) -> Document:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    builder = TextBuilder()
    for header in HEADERS:
        value = _header(message, header)
        if value:
            builder.add(f"{header}: ")
            builder.add(value, element=f"header:{header}")
            builder.break_line()
    if not builder.length:
        raise DocumentError(f"{name or 'the e-mail'}: no From, To, Date or Subject header")
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = _content(body)
        if content.strip():
            builder.break_line(blank=True)
            if body.get_content_subtype() == "html":
                # An HTML part with no text: the headers are the document.
                with contextlib.suppress(DocumentError):
                    builder.extend(read_html(content), prefix="body:")
            else:
                text = content.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
                builder.add(text, element="body")
    names = [part.get_filename() for part in message.iter_attachments()]
    if any(names):
        builder.break_line(blank=True)
        builder.add("Attachments: " + ", ".join(n for n in names if n))
    return builder.build("email", name, (), data)


def _header(message: EmailMessage, header: str) -> str:
    try:
        value = message.get(header)
    except (ValueError, IndexError):  # a header the policy cannot parse: its raw text
        value = message.get_all(header, [""])[0] if hasattr(message, "get_all") else ""
    return " ".join(str(value or "").split())


def _content(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: the bytes as well as they go
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""
