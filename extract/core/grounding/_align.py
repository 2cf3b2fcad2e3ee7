"""Where each grounded value sits in the text: exact, then normalised, then fuzzy.

Used for every backend's answer (a local model's grounded values are substrings by
construction, so they align exactly; a hosted model's may not). Costs stay linear in
the document: exact and normalised matching are substring searches, and the fuzzy
pass compares the value only with windows of as many words at each word of the text,
and only for values of at most ``_FUZZY_MAX_WORDS`` words.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["exact", "normalized", "fuzzy"]

FUZZY_THRESHOLD = 0.75  # difflib ratio of the normalised forms (LangExtract uses 0.75 too)
_FUZZY_MAX_WORDS = 40
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class Aligned:
    start: int
    end: int  # exclusive: text[start:end] is the value (or the passage it came from)
    status: Status


class _Normalized:
    """The text case-folded, NFKC-normalised and with whitespace runs collapsed, with
    the offset in the original text of every normalised character."""

    def __init__(self, text: str) -> None:
        out: list[str] = []
        where: list[int] = []
        space = False
        for i, ch in enumerate(text):
            if ch.isspace():
                if out and not space:
                    out.append(" ")
                    where.append(i)
                space = True
                continue
            space = False
            for piece in unicodedata.normalize("NFKC", ch).casefold():
                out.append(piece)
                where.append(i)
        self.text = "".join(out)
        self.where = where

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.where[start], self.where[end - 1] + 1


def normalized(value: str) -> str:
    return _Normalized(value).text.strip()


class Aligner:
    """Aligns the values of one answer to one text, in the answer's order: a value that
    occurs several times takes the next occurrence after the one its previous copy
    took, so repeated names map to the places the model read them, left to right."""

    def __init__(self, text: str, threshold: float = FUZZY_THRESHOLD) -> None:
        self.text = text
        self.threshold = threshold
        self._normalized: _Normalized | None = None
        self._words: list[tuple[int, int]] | None = None
        self._after: dict[str, int] = {}  # normalised value -> where its last copy started

    def align(self, value: str) -> Aligned | None:
        target = normalized(value)
        if not target:
            return None
        after = self._after.get(target, -1)  # copies of one name, however spelt
        aligned = self._exact(value, after) or self._normalized_match(target, after)
        if aligned is None and after >= 0:  # more copies than occurrences: from the start
            aligned = self._exact(value, -1) or self._normalized_match(target, -1)
        aligned = aligned or self._fuzzy(value, target)
        if aligned is not None:
            self._after[target] = aligned.start
        return aligned

    def _exact(self, value: str, after: int) -> Aligned | None:
        at = _find(self.text, value, after + 1)
        return None if at < 0 else Aligned(at, at + len(value), "exact")

    def _normalized_match(self, target: str, after: int) -> Aligned | None:
        norm = self._norm()
        # The first normalised character that lies after ``after`` in the original text.
        begin = bisect.bisect_right(norm.where, after)
        at = _find(norm.text, target, begin)
        if at < 0:
            return None
        start, end = norm.span(at, at + len(target))
        return Aligned(start, end, "normalized")

    def _norm(self) -> _Normalized:
        if self._normalized is None:
            self._normalized = _Normalized(self.text)
        return self._normalized

    def _fuzzy(self, value: str, target: str) -> Aligned | None:
        size = len(target.split())
        if not size or size > _FUZZY_MAX_WORDS:
            return None
        if self._words is None:
            self._words = [(m.start(), m.end()) for m in _WORDS.finditer(self.text)]
        words = self._words
        best: tuple[float, int, int] | None = None
        matcher = difflib.SequenceMatcher(None, b=target, autojunk=False)
        for n in {max(1, size - 1), size, size + 1}:
            for i in range(len(words) - n + 1):
                start, end = words[i][0], words[i + n - 1][1]
                matcher.set_seq1(normalized(self.text[start:end]))
                if matcher.real_quick_ratio() < self.threshold:
                    continue
                if matcher.quick_ratio() < self.threshold:
                    continue
                ratio = matcher.ratio()
                if ratio >= self.threshold and (best is None or ratio > best[0]):
                    best = (ratio, start, end)
        if best is None:
            return None
        start, end = best[1], best[2]
        # Words are cut at whitespace: leave out punctuation the value does not have.
        while start < end and not self.text[start].isalnum() and self.text[start] != value[:1]:
            start += 1
        while end > start and not self.text[end - 1].isalnum() and self.text[end - 1] != value[-1:]:
            end -= 1
        return Aligned(start, end, "fuzzy")


def _find(haystack: str, needle: str, start: int) -> int:
    """The first occurrence at or after ``start`` that is a whole word at its ends (so
    "Ann" is not found inside "Anna"), else the first occurrence at all; -1 if none."""
    first = at = haystack.find(needle, start)
    while at >= 0:
        before = haystack[at - 1] if at > 0 else " "
        after = haystack[at + len(needle)] if at + len(needle) < len(haystack) else " "
        if not (_in_word(before) and _in_word(needle[0])) and not (
            _in_word(after) and _in_word(needle[-1])
        ):
            return at
        at = haystack.find(needle, at + 1)
    return first


def _in_word(char: str) -> bool:
    """A letter or digit, or a combining mark: case-folding "İ" gives "i" and a
    combining dot, which stays inside its word."""
    return char.isalnum() or unicodedata.category(char).startswith("M")


def align_values(
    text: str, values: Sequence[tuple[str, str]], threshold: float = FUZZY_THRESHOLD
) -> tuple[dict[str, Aligned], list[str]]:
    """``(pointer, value)`` pairs aligned to ``text``: the alignments by pointer, and
    the pointers that could not be aligned."""
    aligner = Aligner(text, threshold)
    found: dict[str, Aligned] = {}
    missing: list[str] = []
    for pointer, value in values:
        aligned = aligner.align(value)
        if aligned is None:
            missing.append(pointer)
        else:
            found[pointer] = aligned
    return found, missing
