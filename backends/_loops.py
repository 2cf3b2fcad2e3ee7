"""Loops in greedy decoding: finding a span written again and again, and what may end it."""

from __future__ import annotations

from collections.abc import Callable

LOOP_COPIES = 3  # a span written this many times in a row, verbatim...
LOOP_MIN_SPAN = 6  # ...of at least this many tokens (a record, not a digit run)...
LOOP_MAX_SPAN = 256  # ...up to this long
MAX_LOOP_EXITS = 3  # lists ended early per answer; a fourth loop stops the answer


def repeating(out: list[int]) -> int:
    """The length of a span of tokens that ``out`` ends with ``LOOP_COPIES`` times in
    a row, or 0. Greedy decoding of a small model falls into such loops (the same list
    item again and again) and would fill any budget. Checked per token: only spans
    whose last token recurs are compared.
    """
    n = len(out)
    last = out[-1]
    for span in range(LOOP_MIN_SPAN, min(LOOP_MAX_SPAN, n // LOOP_COPIES) + 1):
        if out[n - 1 - span] != last or out[n - 1 - 2 * span] != last:
            continue
        tail = out[n - span :]
        if all(out[n - (k + 1) * span : n - k * span] == tail for k in range(1, LOOP_COPIES)):
            return span
    return 0


# The tokens that may end a loop, by what the cut leaves open: a list (only closing
# brackets, so no further item starts), a string (a closing quote, whatever follows it),
# a number (the separator or bracket after it).
CLOSES: dict[str, Callable[[bytes], bool]] = {
    "list": lambda piece: bool(piece.strip()) and not piece.strip().strip(b"}]"),
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
