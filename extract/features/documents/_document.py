"""A document's text and, for each character, where it came from.

Every loader builds the text with a ``TextBuilder``: pieces of text, each with the box
of each character on its page (PDF, image) or the element it lies in (HTML, e-mail).
``Document.locate((start, end))`` turns a span of the text, as ``Result.spans`` gives
it, back into those places: one box per line the span covers, or the elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from extract.core._errors import DocumentError, UsageError

__all__ = ["Box", "Document", "DocumentError", "Location", "Page", "TextBuilder"]


@dataclass(frozen=True)
class Page:
    """A page's size: PDF points (1/72 inch) or image pixels, as ``unit`` says."""

    width: float
    height: float
    unit: str = "pt"


@dataclass(frozen=True)
class Box:
    """A rectangle on page ``page`` (0-based), from the page's top-left corner."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float

    def union(self, other: Box) -> Box:
        return Box(
            self.page,
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )


@dataclass(frozen=True)
class Location:
    """Where a span of ``Document.text`` stands in the source: the boxes of its lines
    (PDF, image) and the elements holding it (HTML, e-mail: CSS paths)."""

    boxes: tuple[Box, ...] = ()
    elements: tuple[str, ...] = ()

    @property
    def pages(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(box.page for box in self.boxes))


@dataclass(frozen=True)
class Document:
    """Text to extract from, with the map back to its source.

    Every entry point that takes text takes a ``Document`` too; ``result.spans`` stay
    offsets into ``document.text``, and ``document.locate(span)`` says where they stand.
    """

    text: str
    kind: str = "text"  # text, pdf, html, email, image, docx
    name: str | None = None
    pages: tuple[Page, ...] = ()
    source: bytes | None = field(default=None, repr=False)  # the bytes it was read from
    _boxes: tuple[Box | None, ...] = field(default=(), repr=False)  # per character
    _elements: tuple[int, ...] = field(default=(), repr=False)  # per character, or -1
    _paths: tuple[str, ...] = field(default=(), repr=False)  # element index -> CSS path

    def __str__(self) -> str:
        return self.text

    def __len__(self) -> int:
        return len(self.text)

    def locate(self, span: tuple[int, int]) -> Location:
        """The boxes (one per line, in reading order) and elements of ``text[start:end]``."""
        start, end = span
        if not (0 <= start <= end <= len(self.text)):
            raise UsageError(f"span {span} is not within the text ({len(self.text)} characters)")
        lines: list[Box] = []
        for box in self._boxes[start:end]:
            if box is None:
                continue
            last = lines[-1] if lines else None
            if last is not None and last.page == box.page and _same_line(last, box):
                lines[-1] = last.union(box)
            else:
                lines.append(box)
        seen = dict.fromkeys(i for i in self._elements[start:end] if i >= 0)
        return Location(tuple(lines), tuple(self._paths[i] for i in seen))


def _same_line(line: Box, box: Box) -> bool:
    """The box continues the line to its right: they overlap vertically by half."""
    overlap = min(line.y1, box.y1) - max(line.y0, box.y0)
    height = min(line.y1 - line.y0, box.y1 - box.y0)
    return box.x0 >= line.x0 and overlap >= 0.5 * max(height, 0.0)


class TextBuilder:
    """Text built piece by piece, each character with its box or element."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.boxes: list[Box | None] = []
        self.elements: list[int] = []
        self.paths: list[str] = []
        self._path_index: dict[str, int] = {}
        self._space = False  # a space is due before the next text on this line

    @property
    def length(self) -> int:
        return len(self.boxes)

    def add(self, text: str, boxes: Sequence[Box | None] | None = None,
            element: str | None = None) -> None:  # fmt: skip
        if boxes is not None and len(boxes) != len(text):
            raise ValueError("one box (or None) per character")
        if self._space and text and not text.startswith(("\n", "\t")):
            self._space = False
            self.add(" ")
        self._space = False
        self.parts.append(text)
        self.boxes.extend(boxes if boxes is not None else [None] * len(text))
        index = -1
        if element is not None:
            index = self._path_index.setdefault(element, len(self.paths))
            if index == len(self.paths):
                self.paths.append(element)
        self.elements.extend([index] * len(text))

    def ends_with(self, suffix: str | tuple[str, ...]) -> bool:
        need = max(map(len, (suffix,) if isinstance(suffix, str) else suffix))
        tail = ""
        for part in reversed(self.parts):
            tail = part + tail
            if len(tail) >= need:
                break
        return tail.endswith(suffix)

    def space(self) -> None:
        """A space before the next text, if it comes on this line after some text."""
        self._space = bool(self.parts) and not self.ends_with(("\n", "\t", " "))

    def unspace(self) -> None:
        self._space = False

    def break_line(self, blank: bool = False, force: bool = False) -> None:
        """End the current line (and leave a blank one) unless the text already does;
        ``force``: a line break even after one (``<br>``)."""
        self._space = False
        if force:
            self.add("\n")
            return
        if not self.parts:
            return
        want = "\n\n" if blank else "\n"
        if self.ends_with(want):
            return
        if blank and self.ends_with("\n"):
            self.add("\n")
        else:
            self.add(want)

    def extend(self, document: Document, prefix: str = "") -> None:
        """Another document's text, each run of it with its element (under ``prefix``)
        and its boxes."""
        start = 0
        text = document.text
        for end in range(1, len(text) + 1):
            if end < len(text) and document._elements[end] == document._elements[start]:
                continue
            index = document._elements[start] if document._elements else -1
            element = None if index < 0 else prefix + document._paths[index]
            boxes = list(document._boxes[start:end]) if document._boxes else None
            self.add(text[start:end], boxes, element)
            start = end

    def build(self, kind: str, name: str | None, pages: Sequence[Page] = (),
              source: bytes | None = None) -> Document:  # fmt: skip
        text = "".join(self.parts)
        # Trailing line breaks carry nothing: trim them with their map entries.
        keep = len(text.rstrip("\n"))
        return Document(
            text[:keep],
            kind,
            name,
            tuple(pages),
            source,
            tuple(self.boxes[:keep]),
            tuple(self.elements[:keep]),
            tuple(self.paths),
        )
