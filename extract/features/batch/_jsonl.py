"""JSON Lines read as bytes, one line at a time, so that one bad line is one bad line.

Reading a file in text mode ends the loop at the first byte that is not UTF-8 and loses
every line after it; here each line is decoded on its own, and what cannot be read
(not UTF-8, not JSON, longer than the limit) is reported with its line number and the
column in that line, then reading goes on.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

# A line longer than this is reported unread: one runaway line must not exhaust memory.
MAX_LINE_BYTES = 64 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line: its 1-based ``number`` and either its ``value`` or the
    ``problem`` that kept it from being read (``value`` is then None), phrased to
    follow "line N is": ``"not JSON: Expecting ',' delimiter at column 12"``."""

    number: int
    value: Any = None
    problem: str | None = None


def read_json_lines(
    source: IO[bytes] | Iterable[bytes | str], *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[JsonLine]:
    """The non-blank lines of a JSON Lines stream, each parsed or with its problem.

    ``source`` is a binary file (read with a bound per line) or any iterable of lines
    (bytes or str). A UTF-8 byte order mark before the first line is skipped.
    """
    lines: Iterable[bytes | str | None] = source
    if isinstance(source, io.IOBase):  # a file: read with a bound per line
        lines = _bounded_lines(cast(IO[bytes], source), max_line_bytes)
    for number, line in enumerate(lines, 1):
        if line is None:
            yield JsonLine(number, problem=f"longer than {max_line_bytes} bytes")
            continue
        if number == 1 and isinstance(line, bytes) and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if isinstance(line, bytes):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = exc.start + 1
                problem = f"not UTF-8 (byte {line[exc.start]:#04x} at column {column})"
                yield JsonLine(number, problem=problem)
                continue
        else:
            text = line.removeprefix("\ufeff") if number == 1 else line
        text = text.rstrip("\r\n")
        if not text.strip():
            continue
        try:
            yield JsonLine(number, json.loads(text))
        except json.JSONDecodeError as exc:
            # The decoder counts lines inside the text it was given: only the column of
            # this line means anything to a reader of the file.
            where = "at the end of the line" if exc.pos >= len(text) else f"at column {exc.pos + 1}"
            yield JsonLine(number, problem=f"not JSON: {exc.msg} {where}")
        except RecursionError:
            yield JsonLine(number, problem="not JSON: nested too deeply")


def _bounded_lines(f: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """Each line of ``f`` as bytes, or None for one longer than ``limit`` (skipped)."""
    while True:
        line = f.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # the rest of the long line
                line = f.readline(limit + 1)
            yield None
            continue
        yield line


# Characters that JSON leaves raw in a string but that str.splitlines() (and some
# editors and tools) take for line breaks: written escaped, a line stays one line.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_LINE_BREAK = re.compile("[\x85\u2028\u2029]")


def json_line(value: Any) -> str:
    """``value`` as one line of JSON Lines (without the newline): UTF-8 text as it is,
    but a lone surrogate (which UTF-8 cannot hold) and the characters other readers
    split lines at are written as ``\\u`` escapes."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the whole line ASCII, escaped
        return json.dumps(value)
    return _LINE_BREAK.sub(lambda m: _LINE_BREAKS[m.group()], text)
