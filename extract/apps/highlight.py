"""Grounded spans as one self-contained HTML page: the document text with every span
marked, one colour per field and a legend. No script, nothing fetched.

A span is ``pointer -> (start, end)``: ``text[start:end]`` is the value at that JSON
pointer. Each span becomes ``<mark data-path=POINTER title=POINTER>``; the page's promise
is that, for every span, the text of the elements carrying its ``data-path``, joined in
document order, is exactly ``text[start:end]`` (as an HTML parser or a browser reads it).

Overlapping spans: the text is cut at every span boundary and each piece is written once.
Marks are kept on a stack and nest like well-formed tags; when a span ends while spans
opened after it are still open, those are closed, the ending one is closed, and they are
reopened at once (a new mark with the same ``data-path``). So nested spans stay one mark
each, only a crossing span is split into consecutive marks, and the document text itself
is never repeated. An empty span is an empty mark at its position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from extract.features.documents import Document
from extract.features.documents._render import page_images

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; font: 14px/1.7 ui-monospace, monospace;
        border: 1px solid #ddd; padding: .8em; }
mark { color: inherit; background: transparent; border-radius: 2px; }
mark:hover { outline: 1px solid #555; }
mark:empty { display: inline-block; width: 2px; height: 1.2em; vertical-align: text-bottom; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: middle;
          margin-right: 4px; border-radius: 2px; }
section { margin: 1.5em 0; }
"""
_SHEET = """
.sheet { position: relative; display: inline-block; border: 1px solid #ddd; }
.sheet img { display: block; max-width: 100%; }
.box { position: absolute; outline: 1px solid rgba(0, 0, 0, .5); }
"""

# Light, distinct colours (Tableau 10), translucent so overlaps show darker.
_PALETTE = (
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
)
_ALPHA = 0.38
# An array index in a JSON pointer (RFC 6901: "0" or no leading zero).
_INDEX = re.compile(r"(?<=/)(?:0|[1-9][0-9]*)(?=/|$)")
_ROOT = '"" (the whole value)'  # the legend's name for the empty pointer


@dataclass(frozen=True)
class _Span:
    order: int
    pointer: str
    start: int
    end: int


def highlight(text: str | Document, result: Any, title: str | None = None) -> str:
    """A self-contained HTML page of ``text`` with every grounded value highlighted (one
    colour per field; hovering shows the JSON pointer). ``result``: an
    ``extract.Result`` or its ``spans`` mapping (pointer -> (start, end)). A loaded PDF
    or scan (``extract.load``) also shows each page holding a value, with the value's
    boxes drawn on it."""
    spans = result if isinstance(result, Mapping) else getattr(result, "spans", None)
    if not isinstance(spans, Mapping):
        raise TypeError(f"highlight() takes a Result or a spans mapping, not {result!r}")
    if not isinstance(text, Document):
        return highlight_spans(text, spans, title)
    checked = _checked(text.text, spans)
    fields = _fields([checked])
    body = [_text(text.text, checked, fields)]
    if text.kind in ("pdf", "image") and text.source is not None:
        body += _pages(text, checked, fields)
    return _page(title if title is not None else "Grounded spans", fields, body)


def page_sections(document: Document, spans: Mapping[str, tuple[int, int]]) -> str:
    """The pages of a loaded PDF or scan that hold a span, with the spans' boxes drawn,
    coloured as ``marked_text`` colours the same spans (its own style rules included);
    "" for other documents or when no span has a box."""
    if document.kind not in ("pdf", "image") or document.source is None:
        return ""
    checked = _checked(document.text, spans)
    sections = _pages(document, checked, _fields([checked]))
    return f"<style>{_SHEET}</style>" + "".join(sections) if sections else ""


def _pages(document: Document, spans: list[_Span], fields: dict[str, tuple[int, int]]) -> list[str]:
    """Each page that holds a span: its image with a box per line of each span, placed
    in percentages of the page so the drawing scales with the image."""
    boxes: dict[int, list[str]] = {}
    for span in spans:
        colour = fields[field_of(span.pointer)][0]
        for box in document.locate((span.start, span.end)).boxes:
            page = document.pages[box.page]
            style = (
                f"left:{100 * box.x0 / page.width:.3f}%;top:{100 * box.y0 / page.height:.3f}%;"
                f"width:{100 * (box.x1 - box.x0) / page.width:.3f}%;"
                f"height:{100 * (box.y1 - box.y0) / page.height:.3f}%"
            )
            pointer = escape_html(span.pointer)
            boxes.setdefault(box.page, []).append(
                f"<div class='box f{colour}' data-path='{pointer}' title='{pointer}' "
                f"style='{style}'></div>"
            )
    if not boxes:
        return []
    images = page_images(document)
    return [
        f"<section class='page' data-page='{number + 1}'><h2>Page {number + 1}</h2>"
        f"<div class='sheet'><img alt='page {number + 1}' src='data:{images[number].media_type};"
        f"base64,{images[number].base64()}'>{''.join(drawn)}</div></section>"
        for number, drawn in sorted(boxes.items())
    ]


def highlight_spans(
    text: str, spans: Mapping[str, tuple[int, int]], title: str | None = None
) -> str:
    """One HTML page of ``text`` with every span of ``spans`` (pointer -> (start, end))
    highlighted; raises ``ValueError`` naming the pointer of a span that does not fit."""
    checked = _checked(text, spans)
    fields = _fields([checked])
    heading = title if title is not None else "Grounded spans"
    return _page(heading, fields, [_text(text, checked, fields)])


def highlight_documents(
    documents: Iterable[tuple[str, str, Mapping[str, tuple[int, int]]]],
    title: str | None = None,
) -> str:
    """One HTML page with a section per ``(id, text, spans)``, colours shared by the page."""
    docs = [(doc_id, text, _checked(text, spans, doc_id)) for doc_id, text, spans in documents]
    fields = _fields([checked for _, _, checked in docs])
    sections = [
        f"<section class='document' data-id='{escape_html(doc_id)}'><h2>{escape_html(doc_id)}</h2>"
        f"{_text(text, checked, fields)}</section>"
        for doc_id, text, checked in docs
    ]
    heading = title if title is not None else "Grounded spans"
    return _page(heading, fields, sections)


def marked_text(text: str, spans: Mapping[str, tuple[int, int]]) -> tuple[str, str]:
    """The text with its spans marked, as a ``<div class='text'>``, and the style rules
    that colour its marks: for pages that show one document among other things."""
    checked = _checked(text, spans)
    fields = _fields([checked])
    return _text(text, checked, fields), _colours(fields)


def field_of(pointer: str) -> str:
    """The field a pointer names: list positions replaced by ``*`` ("/a/3/b" -> "/a/*/b")."""
    return _INDEX.sub("*", pointer)


def _checked(
    text: str, spans: Mapping[str, tuple[int, int]], doc_id: str | None = None
) -> list[_Span]:
    where = "" if doc_id is None else f"document {doc_id!r}: "
    out = []
    for order, (pointer, span) in enumerate(spans.items()):
        try:
            start, end = span
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}span {pointer!r} is not a (start, end) pair: {span!r}"
            ) from None
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in (start, end)):
            raise ValueError(f"{where}span {pointer!r} has offsets that are not integers: {span!r}")
        if start > end:
            raise ValueError(f"{where}span {pointer!r} starts after it ends: ({start}, {end})")
        if start < 0 or end > len(text):
            raise ValueError(
                f"{where}span {pointer!r} = ({start}, {end}) is outside the text "
                f"(length {len(text)})"
            )
        out.append(_Span(order, pointer, start, end))
    return out


def _fields(documents: list[list[_Span]]) -> dict[str, tuple[int, int]]:
    """field -> (colour index, number of spans), fields in sorted order."""
    counts: dict[str, int] = {}
    for spans in documents:
        for span in spans:
            field = field_of(span.pointer)
            counts[field] = counts.get(field, 0) + 1
    return {field: (i, counts[field]) for i, field in enumerate(sorted(counts))}


def _colour(index: int) -> str:
    if index < len(_PALETTE):
        r, g, b = _PALETTE[index]
        return f"rgba({r}, {g}, {b}, {_ALPHA})"
    hue = (index * 137.508) % 360  # golden angle: every new hue far from the ones before
    return f"hsla({hue:.1f}, 65%, 55%, {_ALPHA})"


def _colours(fields: dict[str, tuple[int, int]]) -> str:
    return "".join(f".f{i} {{ background: {_colour(i)}; }}\n" for i, _ in fields.values())


def _page(title: str, fields: dict[str, tuple[int, int]], body: list[str]) -> str:
    colours = _colours(fields)
    legend = "".join(
        f"<li><span class='swatch f{i}'></span>{escape_html(field or _ROOT)} ({count})</li>"
        for field, (i, count) in fields.items()
    )
    return "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{escape_html(title)}</title><style>{_STYLE}{_SHEET}{colours}</style></head><body>",
            f"<h1>{escape_html(title)}</h1>",
            f"<ul class='legend'>{legend}</ul>" if legend else "<p class='legend'>No spans.</p>",
            *body,
            "</body></html>",
        ]
    )


def _text(text: str, spans: list[_Span], fields: dict[str, tuple[int, int]]) -> str:
    """The text with its marks (see the module docstring for how overlaps are written)."""
    starts: dict[int, list[_Span]] = {}
    ends: dict[int, set[_Span]] = {}
    empty: dict[int, list[_Span]] = {}
    for span in spans:
        if span.start == span.end:
            empty.setdefault(span.start, []).append(span)
        else:
            starts.setdefault(span.start, []).append(span)
            ends.setdefault(span.end, set()).add(span)

    def open_tag(span: _Span) -> str:
        pointer = escape_html(span.pointer)
        index = fields[field_of(span.pointer)][0]
        return f"<mark class='f{index}' data-path='{pointer}' title='{pointer}'>"

    bounds = sorted({0, len(text), *starts, *ends, *empty})
    out = ["<div class='text'>"]
    stack: list[_Span] = []
    for pos, following in zip(bounds, [*bounds[1:], len(text)], strict=True):
        reopen: list[_Span] = []
        ending = ends.get(pos, set())
        left = len(ending)
        while left:
            top = stack.pop()
            out.append("</mark>")
            if top in ending:
                left -= 1
            else:
                reopen.append(top)
        out.extend(open_tag(span) + "</mark>" for span in empty.get(pos, []))
        # Longest first: the spans that stay open longest sit outermost, fewest splits later.
        for span in sorted([*reopen, *starts.get(pos, [])], key=lambda s: (-s.end, s.order)):
            out.append(open_tag(span))
            stack.append(span)
        out.append(escape_html(text[pos:following], quote=False))
    out.append("</div>")
    return "".join(out)


def escape_html(value: str, quote: bool = True) -> str:
    """HTML-escaped so a parser reads back the same characters, one for one.

    Parsers turn a raw CR (and CRLF) into LF, so CR is written as a character reference;
    HTML cannot carry U+0000 at all (dropped in text, U+FFFD in attributes), so it is
    shown as U+FFFD: one character for one, the offsets of the rest still hold.
    """
    return escape(value, quote=quote).replace("\r", "&#13;").replace("\x00", "\ufffd")
