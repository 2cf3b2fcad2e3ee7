"""Reading order from positions: glyphs into lines, and columns of prose one by one.

Written by hand because the libraries that do layout analysis (pdfminer's LAParams,
pdfplumber) work on their own parse of the PDF, not on PDFium's characters, and the
ones that learn layouts need model weights. The rules are small and tested with
Hypothesis over generated pages (``tests/unit/test_documents.py``):

- Glyphs whose boxes overlap vertically by half the smaller height share a line; lines
  go top to bottom, glyphs left to right.
- A line's *segments* are its runs of glyphs apart by less than 1.5 line heights (a
  wider gap separates table cells or columns).
- A *band* is a run of consecutive lines with a vertical strip of white space, a
  *gutter*, that none of their segments crosses. A band whose lines have on each side
  of its gutters prose (three or more lines with text on two sides, four or more words
  per segment on average) is read column by column; any other band (a table, a form,
  single-column text) is read line by line, its cells apart by tabs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ._document import Box

Glyph = tuple[str, Box]
Line = list[Glyph]

WIDE = 1.5  # a gap wider than this many line heights separates segments
SPACE = 0.1  # a gap wider than this many line heights is a space between words
MIN_LINES = 3  # lines with text on two sides before a band counts as columns
MIN_WORDS = 4.0  # mean words per segment on each side for prose


def lines_of(glyphs: Sequence[Glyph]) -> list[Line]:
    """Glyphs grouped into lines, top to bottom, each left to right."""
    lines: list[tuple[Box, Line]] = []
    for glyph in sorted(glyphs, key=lambda g: (g[1].y0 + g[1].y1) / 2):
        box = glyph[1]
        for n in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
            band, members = lines[n]
            overlap = min(band.y1, box.y1) - max(band.y0, box.y0)
            if overlap >= 0.5 * min(band.y1 - band.y0, box.y1 - box.y0):
                lines[n] = (band.union(box), members)
                members.append(glyph)
                break
        else:
            lines.append((box, [glyph]))
    lines.sort(key=lambda line: line[0].y0)
    return [sorted(members, key=lambda g: g[1].x0) for _, members in lines]


def height(line: Line) -> float:
    return max(b.y1 for _, b in line) - min(b.y0 for _, b in line)


def segments(line: Line) -> list[Line]:
    """The line's runs of glyphs apart by less than ``WIDE`` line heights."""
    size = height(line)
    out: list[Line] = [[line[0]]]
    for glyph in line[1:]:
        if glyph[1].x0 - out[-1][-1][1].x1 > WIDE * size:
            out.append([glyph])
        else:
            out[-1].append(glyph)
    return out


def reading_order(lines: Sequence[Line]) -> list[Line]:
    """The lines as a reader takes them: bands of prose columns column by column (each
    column's part of a line as a line), everything else as it stands."""
    out: list[Line] = []
    start = 0
    while start < len(lines):
        end, gutters = _band(lines, start)
        band = lines[start:end]
        if gutters and _prose(band, gutters):
            for column in range(len(gutters) + 1):
                for line in band:
                    part = [g for g in line if _column(g[1], gutters) == column]
                    if part:
                        out.append(part)
        else:
            out.extend(band)
        start = end
    return out


Interval = tuple[float, float]


def _band(lines: Sequence[Line], start: int) -> tuple[int, list[Interval]]:
    """The end of the band starting at ``start`` and its gutters (none: one line)."""
    free = _gaps(lines[start])
    end = start + 1
    while free and end < len(lines):
        narrower = _without(free, lines[end])
        if not narrower:
            break
        free = narrower
        end += 1
    return end, free


def _gaps(line: Line) -> list[Interval]:
    parts = segments(line)
    return [(a[-1][1].x1, b[0][1].x0) for a, b in itertools.pairwise(parts)]


def _without(free: list[Interval], line: Line) -> list[Interval]:
    """The free intervals less the line's segments, pieces at least a line height wide."""
    least = height(line)
    out = free
    for part in segments(line):
        left, right = part[0][1].x0, part[-1][1].x1
        cut: list[Interval] = []
        for a, b in out:
            if right <= a or left >= b:
                cut.append((a, b))
                continue
            if left - a >= least:
                cut.append((a, left))
            if b - right >= least:
                cut.append((right, b))
        out = cut
    return out


def _column(box: Box, gutters: list[Interval]) -> int:
    return sum(box.x0 >= b for _, b in gutters)


def _prose(band: Sequence[Line], gutters: list[Interval]) -> bool:
    both = 0
    words = [0] * (len(gutters) + 1)
    counts = [0] * (len(gutters) + 1)
    for line in band:
        sides = set()
        for part in segments(line):
            column = _column(part[0][1], gutters)
            sides.add(column)
            counts[column] += 1
            words[column] += 1 + _spaces(part)
        both += len(sides) >= 2
    means = [w / c for w, c in zip(words, counts, strict=True) if c]
    return both >= MIN_LINES and len(means) == len(counts) and min(means) >= MIN_WORDS


def _spaces(part: Line) -> int:
    size = height(part)
    return sum(b[1].x0 - a[1].x1 > SPACE * size for a, b in itertools.pairwise(part))
