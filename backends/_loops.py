"""Loops in greedy decoding: finding a span written again and again, and what may end it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

LOOP_COPIES = 3  # a span written this many times in a row, verbatim...
LOOP_MIN_SPAN = 6  # ...of at least this many tokens (a record, not a digit run)...
LOOP_MAX_SPAN = 256  # ...up to this long
MAX_LOOP_EXITS = 3  # lists ended early per answer; a fourth loop stops the answer
# List items that differ only in their digits ("NPK-2043", "NPK-2044", ...): a small
# model counting up invents items until the budget runs out. This many in a row end
# the list after the first NEAR_KEPT of them; a list that truly counts up loses its
# items from the fourth on (fewer than NEAR_COPIES such items are never touched).
NEAR_COPIES = 5
NEAR_KEPT = 3
NEAR_MAX_SPAN = 64


def repeating(out: Sequence[int], copies: int = LOOP_COPIES, longest: int = LOOP_MAX_SPAN) -> int:
    """The length of a span of tokens that ``out`` ends with ``copies`` times in a row,
    or 0. Greedy decoding of a small model falls into such loops (the same list item
    again and again) and would fill any budget. Checked per token: only spans whose
    last token recurs are compared.
    """
    n = len(out)
    last = out[-1]
    for span in range(LOOP_MIN_SPAN, min(longest, n // copies) + 1):
        if out[n - 1 - span] != last or out[n - 1 - 2 * span] != last:
            continue
        tail = out[n - span :]
        if all(out[n - (k + 1) * span : n - k * span] == tail for k in range(1, copies)):
            return span
    return 0


def near_repeating(out: Sequence[int], digits: NDArray[np.bool_]) -> int:
    """The span of ``NEAR_COPIES`` copies in a row that ``out`` ends with when digit
    tokens (``digits[token]``) are not compared, each copy with at least two other
    tokens (a run of digits alone is a number, not a list), or 0."""
    recent = np.asarray(out[-NEAR_COPIES * NEAR_MAX_SPAN :], dtype=np.int64)
    is_digit = digits[recent]
    if len(recent) < NEAR_COPIES * LOOP_MIN_SPAN or not is_digit.any():
        return 0
    tail: list[int] = np.where(is_digit, -1, recent).tolist()
    span = repeating(tail, NEAR_COPIES, NEAR_MAX_SPAN)
    if span and sum(1 for t in tail[-span:] if t != -1) >= 2:
        return span
    return 0


# The tokens that may end a loop, by what the cut leaves open: a list (only closing
# brackets, so no further item starts), a string (a closing quote, whatever follows it),
# a number (the separator or bracket after it).
CLOSES: dict[str, Callable[[bytes], bool]] = {
    "list": lambda piece: bool(piece.strip()) and not piece.strip().strip(b"}]"),
    # a list item cut inside its last string (a string item, or a record's last
    # value): the closing quote, then brackets only
    "string list": lambda piece: (
        piece.strip()[:1] == b'"' and len(piece.strip()) > 1 and not piece.strip()[1:].strip(b"}]")
    ),
    "string": lambda piece: piece[:1] == b'"',
    "number": lambda piece: piece[:1] in (b",", b"}", b"]"),
}


def open_value(text: bytes) -> str | None:
    """``"string"`` or ``"number"`` if compact JSON ``text`` ends inside one (so a cut
    there can still close it), else None."""
    in_string = escaped = in_number = False
    for byte in text:
        char = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string, in_number = True, False
        elif char in "-0123456789" and not in_number:
            in_number = True
        elif not (in_number and char in ".eE+-0123456789"):
            in_number = False
    if in_string:
        return "string"
    return "number" if in_number else None


def in_list_string(text: bytes) -> bool:
    """Whether compact JSON ``text`` ends inside a string that is a list item (its
    opening quote follows ``[`` or ``,``; an object's value follows ``:``, a key is
    never followed by a separator)."""
    if open_value(text) != "string":
        return False
    at = len(text) - 1
    while at >= 0:  # back to the opening quote: the last quote not escaped
        if text[at : at + 1] == b'"':
            slashes = len(text[:at]) - len(text[:at].rstrip(b"\\"))
            if slashes % 2 == 0:
                break
        at -= 1
    return text[:at].rstrip()[-1:] in (b"[", b",")
